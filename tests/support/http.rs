//! A loopback HTTP/1.1 server for the tests of remote key sets: it listens on 127.0.0.1 (an
//! ephemeral port), answers each request with what its `route` returns for the path, counts
//! the requests per path, and can stall or send a body of any size. One thread per connection,
//! `Connection: close`; the threads end with the test process. Only loopback traffic.

use std::collections::HashMap;
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::Duration;

/// An answer to one request.
#[derive(Clone, Debug)]
pub struct Reply {
    /// The status code.
    pub status: u16,
    /// Header fields (name, value), sent in order; `Content-Length` is added unless
    /// `chunked`.
    pub headers: Vec<(String, String)>,
    /// The body.
    pub body: Vec<u8>,
    /// Send the body with `Transfer-Encoding: chunked` (no length announced).
    pub chunked: bool,
    /// Wait this long before answering at all.
    pub stall: Option<Duration>,
}

impl Reply {
    /// 200 with `body` as `content_type`.
    pub fn ok(content_type: &str, body: impl Into<Vec<u8>>) -> Self {
        Reply {
            status: 200,
            headers: vec![("Content-Type".into(), content_type.into())],
            body: body.into(),
            chunked: false,
            stall: None,
        }
    }

    /// 200 with a JSON body (`application/json`).
    pub fn json(body: &serde_json::Value) -> Self {
        Self::ok("application/json", body.to_string())
    }

    /// `status` with no body.
    pub fn status(status: u16) -> Self {
        Reply {
            status,
            headers: Vec::new(),
            body: Vec::new(),
            chunked: false,
            stall: None,
        }
    }

    /// The same reply with one more header field.
    #[must_use]
    pub fn header(mut self, name: &str, value: &str) -> Self {
        self.headers.push((name.into(), value.into()));
        self
    }
}

type Route = dyn Fn(&str, usize) -> Reply + Send + Sync;

/// A running server.
#[derive(Debug)]
pub struct TestServer {
    addr: SocketAddr,
    hits: Arc<Mutex<HashMap<String, usize>>>,
}

impl TestServer {
    /// Starts a server answering `route(path, n)` for the `n`th request (from 1) to `path`.
    ///
    /// # Panics
    /// When no loopback port can be had.
    pub fn start(route: impl Fn(&str, usize) -> Reply + Send + Sync + 'static) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap_or_else(|e| panic!("bind: {e}"));
        let addr = listener
            .local_addr()
            .unwrap_or_else(|e| panic!("local_addr: {e}"));
        let hits: Arc<Mutex<HashMap<String, usize>>> = Arc::default();
        let route: Arc<Route> = Arc::new(route);
        let counter = Arc::clone(&hits);
        thread::spawn(move || {
            for stream in listener.incoming().flatten() {
                let route = Arc::clone(&route);
                let counter = Arc::clone(&counter);
                thread::spawn(move || serve(stream, &*route, &counter));
            }
        });
        TestServer { addr, hits }
    }

    /// `http://127.0.0.1:PORT{path}`.
    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    /// Requests received for `path` so far.
    pub fn hits(&self, path: &str) -> usize {
        self.hits
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .get(path)
            .copied()
            .unwrap_or(0)
    }
}

/// Reads one request head (at most 16 KiB), answers it, closes.
fn serve(mut stream: TcpStream, route: &Route, hits: &Mutex<HashMap<String, usize>>) {
    let mut head = Vec::new();
    let mut byte = [0u8; 1];
    while !head.ends_with(b"\r\n\r\n") && head.len() < 16 * 1024 {
        match stream.read(&mut byte) {
            Ok(1) => head.push(byte[0]),
            _ => return,
        }
    }
    let text = String::from_utf8_lossy(&head);
    let path = text
        .lines()
        .next()
        .and_then(|line| line.split(' ').nth(1))
        .unwrap_or("")
        .to_owned();
    let n = {
        let mut hits = hits
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let count = hits.entry(path.clone()).or_insert(0);
        *count += 1;
        *count
    };
    let reply = route(&path, n);
    if let Some(stall) = reply.stall {
        thread::sleep(stall);
    }
    let mut out = format!("HTTP/1.1 {} Test\r\nConnection: close\r\n", reply.status);
    for (name, value) in &reply.headers {
        out.push_str(&format!("{name}: {value}\r\n"));
    }
    if reply.chunked {
        out.push_str("Transfer-Encoding: chunked\r\n\r\n");
    } else {
        out.push_str(&format!("Content-Length: {}\r\n\r\n", reply.body.len()));
    }
    let mut bytes = out.into_bytes();
    if reply.chunked {
        for chunk in reply.body.chunks(4096) {
            bytes.extend_from_slice(format!("{:x}\r\n", chunk.len()).as_bytes());
            bytes.extend_from_slice(chunk);
            bytes.extend_from_slice(b"\r\n");
        }
        bytes.extend_from_slice(b"0\r\n\r\n");
    } else {
        bytes.extend_from_slice(&reply.body);
    }
    // The client may hang up first (a body it refuses to read): not an error here.
    let _ = stream.write_all(&bytes);
    let _ = stream.flush();
}
