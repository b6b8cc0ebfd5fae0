//! Replay protection (RFC 7523 §3 item 7, RFC 7519 §4.1.7): each (`iss`, `jti`) is accepted
//! once, and remembered until the assertion could no longer be accepted anyway
//! (`exp + leeway`).
//!
//! The store keeps a fixed-size digest ([`ReplayKey`], SHA-256 of the issuer and the `jti`,
//! length-prefixed), never the raw `jti`: entries have one size whatever the input, and the
//! store holds no attacker-chosen text.
//!
//! [`MemoryReplayStore`] is a fixed-capacity store that evicts only expired entries. When it is
//! full of live entries it **refuses** the new assertion ([`ReplayError::Full`]) instead of
//! forgetting a live one early: forgetting would let that assertion be replayed.
//!
//! # The table
//!
//! [`MemoryReplayStore<N>`](MemoryReplayStore) keeps its slots in an array (no heap; a `const
//! fn new` for `static`s); `BoxedReplayStore` (feature `alloc`) keeps them in one heap
//! allocation whose size is chosen at run time. Both run the same table over a slice of slots.
//!
//! A store of capacity `N` is `N` slots of 56 bytes and 24 bytes beside them (the count and
//! the seed): `24 + 56 × N` bytes, about 3.5 MiB for 65,536 entries. A slot holds one entry
//! (the 32-byte digest, `expires_at`, and two `u32` links) and one element of two `u32`
//! arrays of `N` that index the entries:
//!
//! - **Buckets**, chained: the bucket of a digest is SipHash-2-4 of the digest under the
//!   store's seed, reduced to `0..N`; each bucket is a list of slots linked through the slots
//!   themselves. Not open addressing: a store must take `N` entries in its `N` slots, and
//!   probe sequences grow without bound as a table fills, while a list holds one entry on
//!   average even when the store is full.
//! - **A binary min-heap on `expires_at`**: when every slot holds an entry, its root is the
//!   entry that expires first, the one to replace if it has expired; if it has not, every
//!   entry is live and the store is full.
//!
//! A check walks the key's bucket: a live copy of the key is a replay ([`ReplayError::Replayed`]);
//! otherwise the entry goes into an expired entry of that bucket, else a slot never used,
//! else the heap's root if it has expired, else it is refused. Expired entries are reclaimed
//! as their slots are needed, never before, so the answers are those of a list of `N`
//! entries scanned in full (but for the bound below), and a check costs one or two keyed hashes, a walk of one bucket
//! and one sift of the heap (at most `log2 N` levels), whether the store is empty or full.
//!
//! # Keys chosen to collide
//!
//! The digest is SHA-256 of (`iss`, `jti`), but a signer chooses its own `jti`, so it can try
//! `jti`s until their digests fall in one bucket. Two bounds keep that harmless:
//!
//! - A bucket holds at most [`MAX_REPLAY_BUCKET_LEN`] (32) entries: a new key whose bucket
//!   holds 32 live entries is refused ([`ReplayError::Full`], fail closed). No check ever walks
//!   more than 32 entries, and the signer's entries crowd one bucket out of `N`: they delay
//!   only the rare keys that fall there, until they expire. Keys nobody aimed never come near
//!   the bound (below 10⁻³⁵ per insert in a full store); only there do the answers differ
//!   from a full scan's.
//! - The bucket is a keyed hash of the whole digest, not some of its bits. With a secret
//!   random seed ([`MemoryReplayStore::with_seed`]), nobody can tell which `jti`s share a
//!   bucket, so none can be aimed. The core has no RNG, so [`MemoryReplayStore::new`] (a
//!   `const fn`, for `static`s) uses the all-zero seed, which is public: there only the first
//!   bound holds. Pass 16 random bytes where the platform has them.
//!
//! `now` should not go backwards: an entry whose slot was reused after it expired is gone,
//! even if a later call's `now` is earlier.

use core::fmt;

use sha2::{Digest, Sha256};

/// The digest a store keeps for one (`iss`, `jti`) pair.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct ReplayKey([u8; 32]);

impl ReplayKey {
    /// `SHA-256("rfc7523-replay-v1" || len(iss) as u64 BE || iss || jti)`: the length prefix
    /// keeps (`"ab"`, `"c"`) and (`"a"`, `"bc"`) apart.
    pub fn new(issuer: &str, jti: &str) -> Self {
        let mut hash = Sha256::new();
        hash.update(b"rfc7523-replay-v1");
        hash.update((issuer.len() as u64).to_be_bytes());
        hash.update(issuer.as_bytes());
        hash.update(jti.as_bytes());
        Self(hash.finalize().into())
    }

    /// A digest read back from a store that persisted it (the inverse of [`as_bytes`]).
    ///
    /// [`as_bytes`]: Self::as_bytes
    pub const fn from_bytes(bytes: [u8; 32]) -> Self {
        Self(bytes)
    }

    /// The digest bytes (for stores that persist them, e.g. as a hex or base64url key).
    pub const fn as_bytes(&self) -> &[u8; 32] {
        &self.0
    }
}

/// What a store must remember: the key, until `expires_at` (Unix seconds, exclusive).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct ReplayEntry {
    /// The (`iss`, `jti`) digest.
    pub key: ReplayKey,
    /// The first second at which the entry may be forgotten (`exp + leeway`).
    pub expires_at: u64,
}

/// Why a store refused an entry.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ReplayError {
    /// The key is already present and live.
    Replayed,
    /// No room without forgetting a live entry: refused (fail closed). In the in-memory
    /// stores, also a key whose bucket holds [`MAX_REPLAY_BUCKET_LEN`] live entries.
    Full,
}

/// A store of used (`iss`, `jti`) pairs.
///
/// `check_and_insert` must be atomic: either the key was absent and is now stored until
/// `entry.expires_at`, or nothing changed. Implementations backed by shared storage must do
/// the check and the insert as one operation (a compare-and-set, a unique insert, a
/// transaction), or two concurrent requests could both pass.
pub trait ReplayStore {
    /// Stores `entry` unless its key is present and live at `now`.
    fn check_and_insert(&mut self, entry: ReplayEntry, now: u64) -> Result<(), ReplayError>;
}

impl<S: ReplayStore + ?Sized> ReplayStore for &mut S {
    fn check_and_insert(&mut self, entry: ReplayEntry, now: u64) -> Result<(), ReplayError> {
        (**self).check_and_insert(entry, now)
    }
}

/// Entries one hash bucket of a [`MemoryReplayStore`] holds. A new key whose bucket already
/// holds this many live entries is refused ([`ReplayError::Full`]), so that no check walks
/// more entries than this, whatever the keys. Keys nobody aimed at one bucket never come near
/// it: in a full store a bucket holds one entry on average, and the chance that an insert
/// finds 32 live entries in its bucket is below 10⁻³⁵.
pub const MAX_REPLAY_BUCKET_LEN: usize = 32;

/// The largest capacity a store uses (slots are numbered with `u32`); slots beyond it stay
/// unused.
pub const MAX_REPLAY_CAPACITY: usize = u32::MAX as usize;

/// A fixed-capacity in-memory store of at most `N` live entries, in `24 + 56 × N` bytes and
/// no heap: a hash table whose checks cost the same whether it is empty or full (see the
/// [module documentation](self)).
///
/// Size `N` for the peak number of assertions accepted within `max lifetime + leeway`; when
/// it is too small, assertions are refused ([`ReplayError::Full`]), not replayed. A store made
/// by [`new`](Self::new) is all zero bytes, so a `static` one takes no room in the program
/// image (`.bss`).
#[derive(Clone)]
pub struct MemoryReplayStore<const N: usize> {
    table: Table,
    slots: [Slot; N],
}

impl<const N: usize> Default for MemoryReplayStore<N> {
    fn default() -> Self {
        Self::new()
    }
}

impl<const N: usize> MemoryReplayStore<N> {
    /// An empty store with the all-zero seed. That seed is public, so a signer can choose
    /// `jti`s that share a bucket; this costs it nothing but refusals of its own (and of the
    /// few keys that fall in that bucket), never a slower check, but a secret seed
    /// ([`with_seed`](Self::with_seed)) takes even that away.
    pub const fn new() -> Self {
        Self::with_seed([0; 16])
    }

    /// An empty store whose buckets are chosen by SipHash-2-4 keyed with `seed`. With 16
    /// secret random bytes (from the platform: the core has no RNG), nobody can tell which
    /// `jti`s share a bucket.
    pub const fn with_seed(seed: [u8; 16]) -> Self {
        Self {
            table: Table::new(seed),
            slots: [Slot::EMPTY; N],
        }
    }

    /// The most live entries the store holds: `N` (at most [`MAX_REPLAY_CAPACITY`]).
    pub const fn capacity(&self) -> usize {
        capacity(N)
    }

    /// Entries held, live or expired but not yet reused.
    pub const fn len(&self) -> usize {
        self.table.len()
    }

    /// True when the store holds nothing.
    pub const fn is_empty(&self) -> bool {
        self.table.len() == 0
    }

    /// Entries still live at `now` (a scan of the store).
    pub fn live(&self, now: u64) -> usize {
        self.table.live(&self.slots, now)
    }
}

impl<const N: usize> ReplayStore for MemoryReplayStore<N> {
    fn check_and_insert(&mut self, entry: ReplayEntry, now: u64) -> Result<(), ReplayError> {
        self.table.check_and_insert(&mut self.slots, entry, now)
    }
}

/// The capacity and the number held, not the entries nor the seed.
impl<const N: usize> fmt::Debug for MemoryReplayStore<N> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MemoryReplayStore")
            .field("capacity", &self.capacity())
            .field("len", &self.len())
            .finish_non_exhaustive()
    }
}

/// [`MemoryReplayStore`] with its capacity chosen at run time (feature `alloc`): the same
/// table and answers, its slots in one heap allocation of `56 × capacity` bytes made at
/// creation (nothing is allocated afterwards; the value itself is 40 bytes).
#[cfg(feature = "alloc")]
#[derive(Clone)]
pub struct BoxedReplayStore {
    table: Table,
    slots: alloc::boxed::Box<[Slot]>,
}

#[cfg(feature = "alloc")]
impl BoxedReplayStore {
    /// An empty store of at most `capacity` live entries (at most [`MAX_REPLAY_CAPACITY`]),
    /// with the all-zero seed, public (see [`MemoryReplayStore::new`]).
    pub fn with_capacity(capacity: usize) -> Self {
        Self::with_capacity_and_seed(capacity, [0; 16])
    }

    /// An empty store of at most `capacity` live entries (at most [`MAX_REPLAY_CAPACITY`])
    /// whose buckets are chosen by SipHash-2-4 keyed with `seed`: pass 16 secret random bytes
    /// (see [`MemoryReplayStore::with_seed`]).
    pub fn with_capacity_and_seed(capacity: usize, seed: [u8; 16]) -> Self {
        Self {
            table: Table::new(seed),
            slots: alloc::vec![Slot::EMPTY; self::capacity(capacity)].into_boxed_slice(),
        }
    }

    /// The most live entries the store holds.
    pub fn capacity(&self) -> usize {
        self.slots.len()
    }

    /// Entries held, live or expired but not yet reused.
    pub const fn len(&self) -> usize {
        self.table.len()
    }

    /// True when the store holds nothing.
    pub const fn is_empty(&self) -> bool {
        self.table.len() == 0
    }

    /// Entries still live at `now` (a scan of the store).
    pub fn live(&self, now: u64) -> usize {
        self.table.live(&self.slots, now)
    }
}

#[cfg(feature = "alloc")]
impl ReplayStore for BoxedReplayStore {
    fn check_and_insert(&mut self, entry: ReplayEntry, now: u64) -> Result<(), ReplayError> {
        self.table.check_and_insert(&mut self.slots, entry, now)
    }
}

/// The capacity and the number held, not the entries nor the seed.
#[cfg(feature = "alloc")]
impl fmt::Debug for BoxedReplayStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("BoxedReplayStore")
            .field("capacity", &self.capacity())
            .field("len", &self.len())
            .finish_non_exhaustive()
    }
}

/// The slots a table of `slots` slots uses.
const fn capacity(slots: usize) -> usize {
    if slots < MAX_REPLAY_CAPACITY {
        slots
    } else {
        MAX_REPLAY_CAPACITY
    }
}

/// One slot of a table: one entry (`key`, `expires_at`, `next`, `pos`), and beside it one
/// element of the bucket array (`head`) and one of the heap (`heap`), which have as many
/// elements as there are slots. Links are slot numbers plus one, 0 for none, so that an empty
/// table is all zero bytes.
#[derive(Clone, Copy)]
struct Slot {
    /// The entry's digest.
    key: [u8; 32],
    /// The entry's `expires_at`.
    expires_at: u64,
    /// The next entry of the same bucket (a link).
    next: u32,
    /// The entry's position in the heap.
    pos: u32,
    /// The first entry of bucket number `i`, this slot's number (a link).
    head: u32,
    /// The slot at heap position `i`, this slot's number.
    heap: u32,
}

impl Slot {
    const EMPTY: Self = Self {
        key: [0; 32],
        expires_at: 0,
        next: 0,
        pos: 0,
        head: 0,
        heap: 0,
    };
}

/// The table algorithm, over a slice of slots that its owner keeps (an array, a boxed slice).
///
/// Slots `0..len` hold entries, live or expired; the others have never held one. Each held
/// entry is in the list of its bucket (`head`, then `next`), which holds at most
/// [`MAX_REPLAY_BUCKET_LEN`] entries, and in a binary min-heap on `expires_at` (heap positions
/// `0..len`, `pos` the way back).
#[derive(Clone, Copy)]
struct Table {
    /// Slots holding an entry.
    len: u32,
    /// The SipHash-2-4 key.
    k0: u64,
    k1: u64,
}

impl Table {
    const fn new(seed: [u8; 16]) -> Self {
        let [a0, a1, a2, a3, a4, a5, a6, a7, b0, b1, b2, b3, b4, b5, b6, b7] = seed;
        Self {
            len: 0,
            k0: u64::from_le_bytes([a0, a1, a2, a3, a4, a5, a6, a7]),
            k1: u64::from_le_bytes([b0, b1, b2, b3, b4, b5, b6, b7]),
        }
    }

    const fn len(&self) -> usize {
        self.len as usize
    }

    fn live(&self, slots: &[Slot], now: u64) -> usize {
        slots
            .iter()
            .take(self.len())
            .filter(|slot| slot.expires_at > now)
            .count()
    }

    /// The bucket of `key` among `buckets`: SipHash-2-4, then multiply-shift (uniform over
    /// `0..buckets` for any count, no division).
    fn bucket(&self, key: &[u8; 32], buckets: usize) -> usize {
        let hash = siphash24(self.k0, self.k1, key);
        ((u128::from(hash) * buckets as u128) >> 64) as usize
    }

    fn check_and_insert(
        &mut self,
        slots: &mut [Slot],
        entry: ReplayEntry,
        now: u64,
    ) -> Result<(), ReplayError> {
        let used = capacity(slots.len());
        let slots = slots.get_mut(..used).unwrap_or_default();
        // `None` only if an invariant of the table were broken: refused (fail closed).
        self.try_insert(slots, entry, now)
            .unwrap_or(Err(ReplayError::Full))
    }

    fn try_insert(
        &mut self,
        slots: &mut [Slot],
        entry: ReplayEntry,
        now: u64,
    ) -> Option<Result<(), ReplayError>> {
        let key = entry.key.as_bytes();
        if slots.is_empty() {
            return Some(if entry.expires_at <= now {
                Ok(())
            } else {
                Err(ReplayError::Full)
            });
        }
        let bucket = self.bucket(key, slots.len());
        // The bucket's list: a live copy of the key is a replay; an expired entry is a slot
        // to reuse.
        let mut link = slots.get(bucket)?.head;
        let mut held = 0;
        let mut expired = None;
        while let Some(at) = slot_of(link) {
            if held == MAX_REPLAY_BUCKET_LEN {
                return None;
            }
            let slot = slots.get(at)?;
            if slot.expires_at > now {
                if slot.key == *key {
                    return Some(Err(ReplayError::Replayed));
                }
            } else if expired.is_none() {
                expired = Some(at);
            }
            held += 1;
            link = slot.next;
        }
        if entry.expires_at <= now {
            // Already expired: nothing to remember (the assertion cannot pass the exp check).
            return Some(Ok(()));
        }
        if let Some(at) = expired {
            // Reused in place, in the same bucket; its expiry grows, so it sifts down.
            let slot = slots.get_mut(at)?;
            slot.key = *key;
            slot.expires_at = entry.expires_at;
            let pos = slot.pos as usize;
            self.sift_down(slots, pos)?;
            return Some(Ok(()));
        }
        if held == MAX_REPLAY_BUCKET_LEN {
            // Every entry of the bucket is live: refused rather than a longer list.
            return Some(Err(ReplayError::Full));
        }
        let len = self.len();
        let at = if len < slots.len() {
            // A slot never used yet, added at the end of the heap.
            let slot = slots.get_mut(len)?;
            slot.key = *key;
            slot.expires_at = entry.expires_at;
            slot.pos = len as u32;
            slots.get_mut(len)?.heap = len as u32;
            self.len += 1;
            self.sift_up(slots, len)?;
            len
        } else {
            // All slots hold entries: the one that expires first makes room, if it has expired
            // (in another bucket: an expired entry of this one was reused above).
            let first = slots.first()?.heap as usize;
            if slots.get(first)?.expires_at > now {
                // Full of live entries: refused, nothing forgotten (fail closed).
                return Some(Err(ReplayError::Full));
            }
            self.unlink(slots, first)?;
            let slot = slots.get_mut(first)?;
            slot.key = *key;
            slot.expires_at = entry.expires_at;
            self.sift_down(slots, 0)?;
            first
        };
        let head = slots.get(bucket)?.head;
        slots.get_mut(at)?.next = head;
        slots.get_mut(bucket)?.head = link_to(at);
        Some(Ok(()))
    }

    /// Takes the entry of slot `at` out of its bucket's list.
    fn unlink(&self, slots: &mut [Slot], at: usize) -> Option<()> {
        let slot = slots.get(at)?;
        let (bucket, next) = (self.bucket(&slot.key, slots.len()), slot.next);
        let target = link_to(at);
        let head = slots.get(bucket)?.head;
        if head == target {
            slots.get_mut(bucket)?.head = next;
            return Some(());
        }
        let mut prev = slot_of(head)?;
        for _ in 0..MAX_REPLAY_BUCKET_LEN {
            let link = slots.get(prev)?.next;
            if link == target {
                slots.get_mut(prev)?.next = next;
                return Some(());
            }
            prev = slot_of(link)?;
        }
        None
    }

    fn sift_up(&self, slots: &mut [Slot], mut pos: usize) -> Option<()> {
        while let Some(parent) = pos.checked_sub(1).map(|p| p / 2) {
            if expiry_at(slots, pos)? >= expiry_at(slots, parent)? {
                break;
            }
            swap(slots, pos, parent)?;
            pos = parent;
        }
        Some(())
    }

    fn sift_down(&self, slots: &mut [Slot], mut pos: usize) -> Option<()> {
        let len = self.len();
        loop {
            let left = pos.checked_mul(2)?.checked_add(1)?;
            if left >= len {
                return Some(());
            }
            let right = left + 1;
            let child = if right < len && expiry_at(slots, right)? < expiry_at(slots, left)? {
                right
            } else {
                left
            };
            if expiry_at(slots, child)? >= expiry_at(slots, pos)? {
                return Some(());
            }
            swap(slots, pos, child)?;
            pos = child;
        }
    }
}

/// The slot a link names.
fn slot_of(link: u32) -> Option<usize> {
    link.checked_sub(1).map(|slot| slot as usize)
}

/// The link to a slot (a slot number is below [`MAX_REPLAY_CAPACITY`], so this fits).
fn link_to(slot: usize) -> u32 {
    (slot as u32).wrapping_add(1)
}

/// The expiry of the entry at heap position `pos`.
fn expiry_at(slots: &[Slot], pos: usize) -> Option<u64> {
    Some(slots.get(slots.get(pos)?.heap as usize)?.expires_at)
}

/// Swaps heap positions `i` and `j`.
fn swap(slots: &mut [Slot], i: usize, j: usize) -> Option<()> {
    let a = slots.get(i)?.heap;
    let b = slots.get(j)?.heap;
    slots.get_mut(i)?.heap = b;
    slots.get_mut(j)?.heap = a;
    slots.get_mut(b as usize)?.pos = i as u32;
    slots.get_mut(a as usize)?.pos = j as u32;
    Some(())
}

/// SipHash-2-4 (Aumasson and Bernstein, "SipHash: a fast short-input PRF", 2012) of a 32-byte
/// message under the key (`k0`, `k1`).
fn siphash24(k0: u64, k1: u64, message: &[u8; 32]) -> u64 {
    let mut v = Sip {
        v0: k0 ^ 0x736f_6d65_7073_6575,
        v1: k1 ^ 0x646f_7261_6e64_6f6d,
        v2: k0 ^ 0x6c79_6765_6e65_7261,
        v3: k1 ^ 0x7465_6462_7974_6573,
    };
    for word in message.chunks_exact(8) {
        let m = u64::from_le_bytes(word.try_into().unwrap_or_default());
        v.v3 ^= m;
        v.round();
        v.round();
        v.v0 ^= m;
    }
    // The last block: the message length (mod 256) in the top byte, no bytes left over.
    let last = 32u64 << 56;
    v.v3 ^= last;
    v.round();
    v.round();
    v.v0 ^= last;
    v.v2 ^= 0xff;
    for _ in 0..4 {
        v.round();
    }
    v.v0 ^ v.v1 ^ v.v2 ^ v.v3
}

struct Sip {
    v0: u64,
    v1: u64,
    v2: u64,
    v3: u64,
}

impl Sip {
    fn round(&mut self) {
        self.v0 = self.v0.wrapping_add(self.v1);
        self.v1 = self.v1.rotate_left(13) ^ self.v0;
        self.v0 = self.v0.rotate_left(32);
        self.v2 = self.v2.wrapping_add(self.v3);
        self.v3 = self.v3.rotate_left(16) ^ self.v2;
        self.v0 = self.v0.wrapping_add(self.v3);
        self.v3 = self.v3.rotate_left(21) ^ self.v0;
        self.v2 = self.v2.wrapping_add(self.v1);
        self.v1 = self.v1.rotate_left(17) ^ self.v2;
        self.v2 = self.v2.rotate_left(32);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(jti: &str, expires_at: u64) -> ReplayEntry {
        ReplayEntry {
            key: ReplayKey::new("iss", jti),
            expires_at,
        }
    }

    fn raw(bytes: [u8; 32], expires_at: u64) -> ReplayEntry {
        ReplayEntry {
            key: ReplayKey::from_bytes(bytes),
            expires_at,
        }
    }

    /// Every invariant of the table: the heap and its way back, bucket lists that hold each
    /// held entry once, in its own bucket, within the bound.
    fn check_invariants(table: &Table, slots: &[Slot]) {
        let len = table.len();
        assert!(len <= slots.len());
        for pos in 0..len {
            let slot = slots[pos].heap as usize;
            assert!(slot < len, "heap position {pos} names slot {slot}");
            assert_eq!(slots[slot].pos as usize, pos);
            if pos > 0 {
                let parent = slots[(pos - 1) / 2].heap as usize;
                assert!(slots[parent].expires_at <= slots[slot].expires_at);
            }
        }
        let mut seen = vec![0u32; len];
        for (bucket, head) in slots.iter().map(|s| s.head).enumerate() {
            let mut link = head;
            let mut held = 0;
            while let Some(at) = slot_of(link) {
                assert!(at < len);
                assert_eq!(table.bucket(&slots[at].key, slots.len()), bucket);
                seen[at] += 1;
                held += 1;
                link = slots[at].next;
            }
            assert!(held <= MAX_REPLAY_BUCKET_LEN);
        }
        assert!(seen.iter().all(|&n| n == 1), "each entry in one list");
    }

    /// `count` digests that fall in the same bucket of a table of `buckets` under `seed`.
    fn same_bucket(seed: [u8; 16], buckets: usize, count: usize) -> Vec<[u8; 32]> {
        let table = Table::new(seed);
        let mut found = Vec::new();
        for n in 0u64.. {
            let mut bytes = [0u8; 32];
            bytes[24..].copy_from_slice(&n.to_be_bytes());
            if table.bucket(&bytes, buckets) == 0 {
                found.push(bytes);
                if found.len() == count {
                    break;
                }
            }
        }
        found
    }

    #[test]
    fn keys_are_length_prefixed() {
        assert_ne!(ReplayKey::new("ab", "c"), ReplayKey::new("a", "bc"));
        assert_eq!(ReplayKey::new("a", "b"), ReplayKey::new("a", "b"));
    }

    #[test]
    fn keys_round_trip_through_bytes() {
        let key = ReplayKey::new("iss", "jti");
        assert_eq!(ReplayKey::from_bytes(*key.as_bytes()), key);
    }

    #[test]
    fn siphash_matches_the_reference() {
        // The reference implementation's vectors_sip64[32]: key 00..0f, message 00..1f.
        let key: [u8; 16] = core::array::from_fn(|i| i as u8);
        let message: [u8; 32] = core::array::from_fn(|i| i as u8);
        let table = Table::new(key);
        assert_eq!(
            siphash24(table.k0, table.k1, &message),
            u64::from_le_bytes([0xce, 0x7c, 0xf2, 0x72, 0x2f, 0x51, 0x27, 0x71])
        );
        // And core's SipHasher (SipHash-2-4) on other keys and messages.
        #[allow(deprecated)]
        for n in 0u64..64 {
            let (k0, k1) = (n.wrapping_mul(0x9e37_79b9_7f4a_7c15), !n << 7);
            let message: [u8; 32] = core::array::from_fn(|i| (n as u8).wrapping_mul(31) ^ i as u8);
            let mut reference = core::hash::SipHasher::new_with_keys(k0, k1);
            core::hash::Hasher::write(&mut reference, &message);
            assert_eq!(
                siphash24(k0, k1, &message),
                core::hash::Hasher::finish(&reference)
            );
        }
    }

    #[test]
    fn memory_per_entry_and_per_store() {
        assert_eq!(core::mem::size_of::<Slot>(), 56);
        assert_eq!(core::mem::size_of::<Table>(), 24);
        assert_eq!(core::mem::size_of::<MemoryReplayStore<0>>(), 24);
        assert_eq!(
            core::mem::size_of::<MemoryReplayStore<1024>>(),
            24 + 56 * 1024
        );
    }

    #[test]
    fn a_new_store_is_const_and_debug_shows_no_seed() {
        static STORE: MemoryReplayStore<16> = MemoryReplayStore::new();
        assert!(STORE.is_empty());
        assert_eq!(STORE.capacity(), 16);
        let seeded = MemoryReplayStore::<4>::with_seed([7; 16]);
        assert_eq!(
            format!("{seeded:?}"),
            "MemoryReplayStore { capacity: 4, len: 0, .. }"
        );
    }

    #[test]
    fn replay_is_refused_until_expiry() {
        let mut store = MemoryReplayStore::<4>::new();
        assert_eq!(store.check_and_insert(entry("a", 100), 10), Ok(()));
        assert_eq!(
            store.check_and_insert(entry("a", 100), 99),
            Err(ReplayError::Replayed)
        );
        // At expires_at the entry is dead, and the slot is reused.
        assert_eq!(store.check_and_insert(entry("a", 200), 100), Ok(()));
        assert_eq!(store.len(), 1);
        assert_eq!(
            store.check_and_insert(entry("a", 200), 199),
            Err(ReplayError::Replayed)
        );
        // An entry already expired is not stored.
        assert_eq!(store.check_and_insert(entry("b", 150), 150), Ok(()));
        assert_eq!(store.check_and_insert(entry("b", 151), 150), Ok(()));
        assert_eq!(store.live(150), 2);
        check_invariants(&store.table, &store.slots);
    }

    #[test]
    fn full_store_refuses_and_keeps_live_entries() {
        let mut store = MemoryReplayStore::<2>::new();
        assert_eq!(store.check_and_insert(entry("a", 100), 0), Ok(()));
        assert_eq!(store.check_and_insert(entry("b", 50), 0), Ok(()));
        // Full of live entries: refused, and neither live entry was forgotten.
        assert_eq!(
            store.check_and_insert(entry("c", 100), 10),
            Err(ReplayError::Full)
        );
        assert_eq!(
            store.check_and_insert(entry("a", 100), 10),
            Err(ReplayError::Replayed)
        );
        assert_eq!(
            store.check_and_insert(entry("b", 50), 10),
            Err(ReplayError::Replayed)
        );
        // Once b expired, its slot takes c.
        assert_eq!(store.check_and_insert(entry("c", 100), 50), Ok(()));
        assert_eq!(
            store.check_and_insert(entry("c", 100), 51),
            Err(ReplayError::Replayed)
        );
        assert_eq!(
            store.check_and_insert(entry("a", 100), 51),
            Err(ReplayError::Replayed)
        );
        assert_eq!(store.live(51), 2);
        check_invariants(&store.table, &store.slots);
    }

    #[test]
    fn a_full_store_recovers_as_entries_expire() {
        let mut store = MemoryReplayStore::<64>::with_seed([3; 16]);
        for i in 0..64 {
            assert_eq!(
                store.check_and_insert(entry(&i.to_string(), 1000 + i), 0),
                Ok(())
            );
        }
        assert_eq!(
            store.check_and_insert(entry("new", 5000), 999),
            Err(ReplayError::Full)
        );
        // At 1000 + k, entries 0..=k have expired: exactly k + 1 new ones fit.
        for k in 0..64u64 {
            let now = 1000 + k;
            assert_eq!(
                store.check_and_insert(entry(&format!("new{k}"), 5000), now),
                Ok(())
            );
            assert_eq!(
                store.check_and_insert(entry(&format!("more{k}"), 5000), now),
                Err(ReplayError::Full)
            );
            assert_eq!(store.live(now), 64);
            check_invariants(&store.table, &store.slots);
        }
        // Every old entry is gone, every new one refused as a replay.
        for k in 0..64u64 {
            assert_eq!(
                store.check_and_insert(entry(&format!("new{k}"), 5000), 2000),
                Err(ReplayError::Replayed)
            );
        }
        assert_eq!(store.len(), 64);
    }

    fn boundary<const N: usize>() {
        let mut store = MemoryReplayStore::<N>::new();
        for i in 0..N {
            assert_eq!(
                store.check_and_insert(entry(&i.to_string(), 1000), 0),
                Ok(()),
                "entry {i} of {N}"
            );
        }
        assert_eq!(
            store.check_and_insert(entry("one more", 1000), 0),
            Err(ReplayError::Full)
        );
        assert_eq!(store.len(), N);
        assert_eq!(store.live(999), N);
        assert_eq!(store.live(1000), 0);
        check_invariants(&store.table, &store.slots);
        // At 1000 all have expired: N new ones fit again, N + 1 do not.
        for i in 0..N {
            assert_eq!(
                store.check_and_insert(entry(&format!("again{i}"), 2000), 1000),
                Ok(())
            );
        }
        assert_eq!(
            store.check_and_insert(entry("one more", 2000), 1000),
            Err(ReplayError::Full)
        );
        check_invariants(&store.table, &store.slots);
    }

    #[test]
    fn capacity_boundary() {
        boundary::<0>();
        boundary::<1>();
        boundary::<2>();
        boundary::<3>();
        boundary::<8>();
        boundary::<64>();
        boundary::<1000>();
    }

    #[test]
    fn a_zero_capacity_store_refuses_every_live_entry() {
        let mut store = MemoryReplayStore::<0>::new();
        assert_eq!(
            store.check_and_insert(entry("a", 10), 0),
            Err(ReplayError::Full)
        );
        assert_eq!(store.check_and_insert(entry("a", 10), 10), Ok(()));
    }

    #[test]
    fn colliding_keys_fill_one_bucket_and_no_more() {
        const N: usize = 256;
        let seed = [0; 16];
        let colliding = same_bucket(seed, N, MAX_REPLAY_BUCKET_LEN + 2);
        let mut store = MemoryReplayStore::<N>::with_seed(seed);
        // A bucket takes MAX_REPLAY_BUCKET_LEN colliding keys, expiring at 100, 101, ...
        for (i, key) in colliding.iter().take(MAX_REPLAY_BUCKET_LEN).enumerate() {
            assert_eq!(store.check_and_insert(raw(*key, 100 + i as u64), 0), Ok(()));
        }
        check_invariants(&store.table, &store.slots);
        // ... then refuses the next one (fail closed), while other buckets still take keys
        // and every colliding key is still remembered.
        let extra = colliding[MAX_REPLAY_BUCKET_LEN];
        assert_eq!(
            store.check_and_insert(raw(extra, 1000), 0),
            Err(ReplayError::Full)
        );
        assert_eq!(store.check_and_insert(entry("elsewhere", 1000), 0), Ok(()));
        for key in colliding.iter().take(MAX_REPLAY_BUCKET_LEN) {
            assert_eq!(
                store.check_and_insert(raw(*key, 1000), 99),
                Err(ReplayError::Replayed)
            );
        }
        // Once one has expired, its slot takes the next colliding key, and only that one.
        assert_eq!(store.check_and_insert(raw(extra, 1000), 100), Ok(()));
        let last = colliding[MAX_REPLAY_BUCKET_LEN + 1];
        assert_eq!(
            store.check_and_insert(raw(last, 1000), 100),
            Err(ReplayError::Full)
        );
        assert_eq!(
            store.check_and_insert(raw(extra, 1000), 101),
            Err(ReplayError::Replayed)
        );
        check_invariants(&store.table, &store.slots);
        // Under another seed the same keys spread over many buckets.
        let other = Table::new([1; 16]);
        let mut buckets: Vec<usize> = colliding.iter().map(|k| other.bucket(k, N)).collect();
        buckets.sort_unstable();
        buckets.dedup();
        assert!(buckets.len() > MAX_REPLAY_BUCKET_LEN / 2, "{buckets:?}");
    }

    #[test]
    fn keys_equal_in_their_low_bits_spread() {
        // Digests equal but for their first byte (and equal low 31 bytes): the bucket comes
        // from a keyed hash of all 32 bytes, not from some of their bits.
        const N: usize = 64;
        let mut store = MemoryReplayStore::<N>::new();
        for b in 0..N {
            let mut bytes = [0xab; 32];
            bytes[0] = b as u8;
            assert_eq!(store.check_and_insert(raw(bytes, 10), 0), Ok(()));
        }
        let mut heads = store.slots.iter().filter(|s| s.head != 0).count();
        assert!(heads > N / 2, "{heads} buckets used");
        check_invariants(&store.table, &store.slots);
        heads = 0;
        for b in 0..N {
            let mut bytes = [0xab; 32];
            bytes[0] = b as u8;
            if store.check_and_insert(raw(bytes, 10), 9) == Err(ReplayError::Replayed) {
                heads += 1;
            }
        }
        assert_eq!(heads, N);
    }

    #[cfg(feature = "alloc")]
    #[test]
    fn the_boxed_store_is_the_same_table() {
        let mut boxed = BoxedReplayStore::with_capacity_and_seed(3, [5; 16]);
        let mut array = MemoryReplayStore::<3>::with_seed([5; 16]);
        assert_eq!(boxed.capacity(), 3);
        assert_eq!(
            format!("{boxed:?}"),
            "BoxedReplayStore { capacity: 3, len: 0, .. }"
        );
        for (i, now) in [0u64, 0, 0, 0, 5, 5, 9, 12].into_iter().enumerate() {
            let e = entry(&(i % 5).to_string(), now + 6);
            assert_eq!(
                boxed.check_and_insert(e, now),
                array.check_and_insert(e, now)
            );
            assert_eq!(boxed.len(), array.len());
            assert_eq!(boxed.live(now), array.live(now));
            check_invariants(&boxed.table, &boxed.slots);
        }
        assert_eq!(
            BoxedReplayStore::with_capacity(0).check_and_insert(entry("a", 1), 0),
            Err(ReplayError::Full)
        );
    }

    #[test]
    fn random_operations_keep_the_invariants() {
        // A small deterministic generator (xorshift): keys from a pool of 24, expiries near
        // `now`, `now` non-decreasing with jumps; the invariants after every call, and the
        // answers against a list with the same semantics.
        let mut state = 0x2545_f491_4f6c_dd1du64;
        let mut next = move || {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state
        };
        let mut store = MemoryReplayStore::<8>::with_seed([9; 16]);
        let mut model: Vec<(ReplayKey, u64)> = Vec::new();
        let mut now = 0u64;
        for _ in 0..20_000 {
            let r = next();
            now += match r % 16 {
                0 => 40,
                1..=5 => 1,
                _ => 0,
            };
            let e = entry(&((r >> 8) % 24).to_string(), now + (r >> 16) % 30);
            let expected = if model.iter().any(|&(k, x)| k == e.key && x > now) {
                Err(ReplayError::Replayed)
            } else if e.expires_at <= now {
                Ok(())
            } else {
                model.retain(|&(_, x)| x > now);
                if model.len() == 8 {
                    Err(ReplayError::Full)
                } else {
                    model.push((e.key, e.expires_at));
                    Ok(())
                }
            };
            assert_eq!(store.check_and_insert(e, now), expected);
            assert_eq!(
                store.live(now),
                model.iter().filter(|&&(_, x)| x > now).count()
            );
            check_invariants(&store.table, &store.slots);
        }
    }
}
