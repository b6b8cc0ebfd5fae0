// The embedded demo keys, one per algorithm of the samples. Each is a PUBLIC EXAMPLE KEY from
// an RFC, whose private half is published: never to be trusted anywhere. The page uses them
// only when this browser cannot generate a key pair for the algorithm (no WebCrypto, e.g. the
// page served over plain HTTP from another host), or when chosen explicitly.
//
// - RS256 and PS256: the RSA-2048 example key of RFC 7520 §3.4 ("Bilbo Baggins",
//   tests/vectors/rfc/ietf-jose-cookbook/jwk/3_4.rsa_private_key.json), converted to PKCS#8 PEM;
//   its JWK's alg pins it to the one algorithm (one algorithm per key, RFC 8725 §3.1).
// - ES256: the P-256 key of RFC 7515 Appendix A.3 (www/test checks that its d gives its x and
//   y, and that it verifies the appendix's example JWS).
// - EdDSA: the Ed25519 key of RFC 8037 Appendix A.1 (tests/vectors/rfc/rfc8037_A4_eddsa.json).
//
// The Worker example's registry (worker/wrangler.toml) trusts the RS256 key as client
// s6BhdRkqt3, the ES256 one as client p256-client and the EdDSA one as client
// ed25519-client, so the page's client assertions signed with them can be sent there.
const RFC7520_KEY = {
  source: 'embedded',
  alg: 'RS256',
  label: 'public example key of RFC 7520 §3.4, RSA-2048 (never trust it)',
  privatePem: `-----BEGIN PRIVATE KEY-----
MIIEvQIBADANBgkqhkiG9w0BAQEFAASCBKcwggSjAgEAAoIBAQCfgQ+0A4Jz0CWR
5Ac/MdK2ABuCzttNkvBQFl1Hz8q4o8Qct3isdVN5P475dXaNGiN02HElZMO813ue
pDRUSJlAfP8AmZIKkxokxEFIUqspvbCpXAZT82xg5gv5C2JY3aVvNwR7pcLR0Cmv
nJ1AuseqQceKDdEGit1pnoCP6gEeoUQdik97tOl7459V8d3UTpxLozUVlwPU00tg
PmUUek8j1tPAmWx17e6EaoLRkK4QeDyWHPA4eu0hBtLQVVtv2Tf61VNTh+D/cv++
eJQUArC4IuoqdLYFjB2r+bNKdstjuH+qLGhHuOKDf/+RGG5rHBSRHPmJqJCSqBzm
Ad2s0/nPAgMBAAECggEAbWUC9B+EFRIo8kpGfh0ZuyGPvMNKvYWNtB/ikiH9k20e
T+O1q/I78eiZkpXxXQ0UTEs2LsNRS+8uJbvQ+A1irkwMSMkK1J3XTGgdrhCku9gR
ldY7sNA/AKZGh+Q661/42rINLRCe8W+nZ34ui/qOfkLnK9QWDDqpaIsA+bMwWWSD
Fu2MUBYwkHTMEzLYGqOe04noqeq1hExBTHBOBdkMXiuFhUq1BU6l+DqEiWxqg82s
Xt2h+LMnT3046AOYJoRioz75tSUQfGCshWTBnP5uDjd18kKhyv07lhfSJdrPdM5P
lyl21hsFf4L/mHCuoFau7gdsPfHPxxjVOcOpBrQzwQKBgQDdKXGD8PBNclxvrT3l
GhfKBAIBnlGcC9mWejXKEe2dR7H9+nsBn/2dFo7sdf/5IV8ZB661qjZMOMMBZThW
6mTyvD0lHQDNnQ3Z++4gCav9YKyYal42pCd6/VPsjISyeHxQy36fkJp+GSKTOESy
uad0fovE6u9EmWw+npm/xtSrSQKBgQC4oTZ2H5xN/oREXiTh7+PLvwZ89hQhpTKh
JIm4HOncK5uTc4KqzqCtPxtH9y7QObUxnBaa12oPIj3ketR6rcw/Xm8ww43yUdN5
m7aWYq/CpbtqdXlTOEzWJnvPjIyS5TAVagG/Jjz3wRe9EP6F2pHEeVKoBnX3bMHe
lUUnSzukVwKBgAfD1b15Lya49i/hmEO798va+isOYPUmoVwcLFlM6dfU1ZYCPmFf
OatTSG9a8ULQ/iLF10d/k2p3r7kT0beTgTnYjBkKfKW7duoJY2HylPxPcZ/kVCx8
9PnnfRPYFyyg+FRp4Kc/j30P6tvaZOcVh6CadNPUH9R7woYsUV+fXoYpAoGACLDm
DGduhylc9o7r84rEUVn7pzQ6PF83Y+iBZx5NT+TpnOZKF1pErAMVeKzFEl41DlHH
qqBLSM0W1sOFbwTxYWZDm6sI6og5iTbwQGIC3gnJKbi/7k/vJgGHwHxgPaX2PnvP
+zyEkDERuf+ry4c/Z11Cq9AqC2yeL6kdKT1cYF8CgYEA3PiqvXQN0zwMeE+sBvZg
i289XP9XCQF3VWqPzMKnIgQp7/Tugo6+NZBKCQsMf3HaEGBjTVJs/jcK8+TRXvaK
e+7ZMaQj8VfBdYkssbu0NKDDhjJ+GtiseaDVWt7dcH0cfwxgFUHpQh7FoCrjFJ6h
6ZEpMF6xmujs4qMpPz8aaI4=
-----END PRIVATE KEY-----
`,
  jwk: {
    "kty": "RSA",
    "kid": "bilbo.baggins@hobbiton.example",
    "use": "sig",
    "alg": "RS256",
    "n": "n4EPtAOCc9AlkeQHPzHStgAbgs7bTZLwUBZdR8_KuKPEHLd4rHVTeT-O-XV2jRojdNhxJWTDvNd7nqQ0VEiZQHz_AJmSCpMaJMRBSFKrKb2wqVwGU_NsYOYL-QtiWN2lbzcEe6XC0dApr5ydQLrHqkHHig3RBordaZ6Aj-oBHqFEHYpPe7Tpe-OfVfHd1E6cS6M1FZcD1NNLYD5lFHpPI9bTwJlsde3uhGqC0ZCuEHg8lhzwOHrtIQbS0FVbb9k3-tVTU4fg_3L_vniUFAKwuCLqKnS2BYwdq_mzSnbLY7h_qixoR7jig3__kRhuaxwUkRz5iaiQkqgc5gHdrNP5zw",
    "e": "AQAB"
  },
};

/** The RS256 one: the Worker example's client s6BhdRkqt3. */
export const EXAMPLE_KEY = RFC7520_KEY;

/** The embedded key of each algorithm of the samples. */
export const EXAMPLE_KEYS = {
  RS256: RFC7520_KEY,
  // The same RSA key pinned to PS256 by its JWK alg (the page trusts one key at a time).
  PS256: { ...RFC7520_KEY, alg: 'PS256', jwk: { ...RFC7520_KEY.jwk, alg: 'PS256' } },
  ES256: {
    source: 'embedded',
    alg: 'ES256',
    label: 'public example key of RFC 7515 Appendix A.3, P-256 (never trust it)',
    privatePem: `-----BEGIN PRIVATE KEY-----
MIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQgjpsQnnGQmL+YBIff
H1136cspYG6+0iY7X1fCE9+E9LKhRANCAAR/zc4ncPbEXUGDy+5v20t7WAczNXvp
7xO6z248e9FURcfxRM0bvZt+hyzf7bnuufSzaV1uqQskrYpGIyiFiOWt
-----END PRIVATE KEY-----
`,
    jwk: {
      kty: 'EC',
      kid: 'rfc7515-a3',
      use: 'sig',
      alg: 'ES256',
      crv: 'P-256',
      x: 'f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU',
      y: 'x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0',
    },
  },
  EdDSA: {
    source: 'embedded',
    alg: 'EdDSA',
    label: 'public example key of RFC 8037 Appendix A.1, Ed25519 (never trust it)',
    privatePem: `-----BEGIN PRIVATE KEY-----
MC4CAQAwBQYDK2VwBCIEIJ1hsZ3v/VpguoRK9JLsLMREScVpezJpGXA7rAMcrn9g
-----END PRIVATE KEY-----
`,
    jwk: {
      kty: 'OKP',
      kid: 'rfc8037-a1',
      use: 'sig',
      alg: 'EdDSA',
      crv: 'Ed25519',
      x: '11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo',
    },
  },
};
