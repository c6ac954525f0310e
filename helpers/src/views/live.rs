//! The live page: a small web server on 127.0.0.1 that shows the dashboard and refreshes
//! itself every few seconds.
//!
//! evcxr cannot update a cell's output once the cell has finished, so the notebook shows
//! this page in an `<iframe>` ([`LivePage::show`]). The page's script (`live.js`)
//! fetches `fragment` (the dashboard's HTML) every `refresh` and swaps it in;
//! `snapshot.json` serves the raw snapshot. Every link of the page is relative, so it
//! works under a path prefix too. It binds to loopback only, on a port the OS picks, and
//! stops when the handle is dropped or [`LivePage::stop`] is called.
//!
//! # Remote Jupyter: through `jupyter-server-proxy`
//! A browser on another machine than the kernel (JupyterHub, a lab reached over SSH or
//! https) cannot reach the kernel's 127.0.0.1. Where the Jupyter server has
//! `jupyter-server-proxy`, it serves any local port at `<base_url>proxy/<port>/`, behind
//! Jupyter's own login. So the frame's HTML carries a small script: in a Jupyter page
//! (JupyterLab and Notebook 7 publish their base URL in `#jupyter-config-data`, the classic
//! notebook in `body[data-base-url]`) it asks `<base_url>proxy/<port>/<secret>/live.js`
//! and, if our script comes back, points the frame there ([`LivePage::proxy_path`]);
//! otherwise the frame shows the direct address. Where scripts in outputs do not run (an
//! untrusted notebook, GitHub, an HTML export) the frame stays empty and the link keeps the
//! direct address. The proxy forwards the browser's own `Host` (Jupyter's), so
//! requests under `/<secret>/` (a random 128-bit path segment, made when the page starts,
//! known only to the notebook's output) are answered whatever their `Host`, and nothing
//! else is.
//!
//! # Nothing is sent to a port not verified as this page's
//! Every request through the proxy carries the browser's Jupyter cookies to whatever
//! listens on the port, and what answers is shown in Jupyter's own origin. On a shared
//! machine the port may, once the page has stopped, be another user's program. So:
//!
//! * the page holds its port until its process ends: [`LivePage::stop`] closes the server
//!   but keeps the port bound (not listening: connections are refused), so no other user
//!   can take it while the kernel lives;
//! * the frame's script first asks Jupyter itself (`<base_url>api/kernels/<id>`, a request
//!   that goes no further than the Jupyter server) whether the kernel that made the output
//!   still runs ([`jupyter_kernel_id`]); only then does it probe the port, through the proxy
//!   or direct. A notebook reopened after its kernel ended sends nothing to the old port:
//!   its frame says the page stopped with its kernel (`data-live-via="stopped"`);
//! * the page's own script, behind the proxy, asks the same before it tries again after a
//!   failure, and stops for good once the kernel is gone.
//!
//! # A server that any local program can talk to
//! Every program on the machine, and every web page a browser on it opens, can send
//! requests to a loopback port. So the server (hyper, HTTP/1 only, on a tokio runtime that
//! lives on the page's own thread, as evcxr requires) keeps to limits:
//!
//! * a request head (request line and headers) of at most [`MAX_HEAD_BYTES`], sent
//!   within [`HEADER_TIMEOUT`]; no request body; one request per connection, and no
//!   connection lives longer than [`CONNECTION_LIFETIME`], whatever the client does;
//! * at most [`MAX_CONNECTIONS`] connections at once: a new one closes the oldest, so
//!   idle or slow clients cannot keep the page from answering;
//! * only paths under the page's secret are answered (403 otherwise), whatever the
//!   `Host`: another user's program on the machine, or a web page that renames itself to
//!   127.0.0.1 through its own DNS ("DNS rebinding"), cannot know it, so cannot read the
//!   page. The direct address ([`LivePage::url`]) carries it too;
//! * every answer forbids scripts other than our own `/live.js` (`Content-Security-Policy`)
//!   and content-type guessing (`X-Content-Type-Options: nosniff`): even markup that
//!   escaped escaping would not run.
//!
//! [`LivePage::stop`] returns within about half a second, whatever the clients do.

use std::collections::VecDeque;
use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;

use bytes::Bytes;
use hyper::body::Incoming;
use hyper::header::{self, HeaderValue};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Method, Request, Response, StatusCode};
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::oneshot;

use crate::core::lang::tr;
use crate::error::{Error, Result};
use crate::kafka::consumer::Pipeline;
use crate::sys::lock;
use crate::views::dashboard::dashboard;
use crate::views::html::{escape, Html};

/// Largest request head (request line and headers) accepted, in bytes (hyper's smallest
/// buffer); a longer one is answered 431 and the connection closed.
pub const MAX_HEAD_BYTES: usize = 8192;

/// Longest a client may take to send its request head.
pub const HEADER_TIMEOUT: Duration = Duration::from_secs(2);

/// Longest a connection lives, whatever the client does (it serves one request).
pub const CONNECTION_LIFETIME: Duration = Duration::from_secs(5);

/// Most connections served at once; a new connection beyond closes the oldest.
pub const MAX_CONNECTIONS: usize = 64;

/// Length of the secret path segment, in hex digits (128 bits).
const SECRET_HEX: usize = 32;

/// What every answer allows the browser to do: run our script only, fetch from us only,
/// show our inline styles (the tables and charts use `style` attributes) and nothing else.
const CONTENT_SECURITY_POLICY: &str = "default-src 'none'; script-src 'self'; \
    connect-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; \
    base-uri 'none'; form-action 'none'";

/// Stops the server thread when the last handle goes.
#[derive(Debug)]
struct Server {
    /// Where it listens: held after the stop ([`hold_port`]).
    addr: SocketAddr,
    /// Tells the accept loop to stop (taken on stop).
    shutdown: Mutex<Option<oneshot::Sender<()>>>,
    /// The server thread.
    thread: Mutex<Option<JoinHandle<()>>>,
}

impl Server {
    fn stop(&self) {
        if let Some(tx) = lock(&self.shutdown).take() {
            // Bound before the listener closes, so the port is never free in between.
            hold_port(self.addr);
            let _ = tx.send(());
        }
        if let Some(t) = lock(&self.thread).take() {
            let _ = t.join();
        }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.stop();
    }
}

/// Handle to the live page. Cheap to clone.
#[derive(Debug, Clone)]
pub struct LivePage {
    /// Where it listens (always 127.0.0.1).
    addr: SocketAddr,
    /// The secret path segment (hex) under which any `Host` is answered.
    secret: Arc<str>,
    /// The Jupyter kernel this page runs in ([`jupyter_kernel_id`]; empty outside Jupyter),
    /// read once when the page starts.
    kernel_id: Arc<str>,
    /// The server's owner.
    server: Arc<Server>,
}

impl LivePage {
    /// Serves the dashboard of `pipeline` on 127.0.0.1 (a free port), refreshing every
    /// `refresh`.
    pub fn start(pipeline: &Pipeline, refresh: Duration) -> Result<LivePage> {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(|e| Error::os("cannot start the live page's runtime", e))?;
        let listener = {
            // The socket registers with this runtime's reactor.
            let _entered = rt.enter();
            bind_loopback()
                .map_err(|e| Error::io("cannot open the live page's port", "127.0.0.1:0", e))?
        };
        let addr = listener
            .local_addr()
            .map_err(|e| Error::os("cannot read the live page's address", e))?;
        let secret: Arc<str> = random_hex()
            .map_err(|e| Error::os("cannot read random bytes for the live page", e))?
            .into();
        let page_id =
            random_hex().map_err(|e| Error::os("cannot read random bytes for the live page", e))?;
        let kernel_id: Arc<str> = jupyter_kernel_id().unwrap_or_default().into();
        let (tx, rx) = oneshot::channel();
        let site = Arc::new(Site {
            page_id: HeaderValue::from_str(&page_id).expect("hex is a header value"),
            pipeline: pipeline.clone(),
            refresh,
            secret: secret.clone(),
            cache: Mutex::default(),
            kernel_id: kernel_id.clone(),
        });
        let thread = std::thread::Builder::new()
            .name("live-page".into())
            .spawn(move || {
                rt.block_on(accept_loop(listener, site, rx));
                // Open connections are dropped (closed) with their tasks; nothing blocks.
                rt.shutdown_timeout(Duration::from_millis(500));
            })
            .map_err(|e| Error::os("cannot start the live page thread", e))?;
        Ok(LivePage {
            addr,
            secret,
            kernel_id,
            server: Arc::new(Server {
                addr,
                shutdown: Mutex::new(Some(tx)),
                thread: Mutex::new(Some(thread)),
            }),
        })
    }

    /// The page's address, with its secret: `http://127.0.0.1:<port>/<secret>/`.
    pub fn url(&self) -> String {
        format!("http://{}/{}/", self.addr, self.secret)
    }

    /// Where the server listens.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Where Jupyter's `jupyter-server-proxy` serves the page, relative to the Jupyter
    /// server's base URL: `proxy/<port>/<secret>/` (see the module docs).
    pub fn proxy_path(&self) -> String {
        format!("proxy/{}/{}/", self.addr.port(), self.secret)
    }

    /// The page inside the notebook: an empty `<iframe>` and a link on the direct address,
    /// and a script that, once it has checked that the kernel which made them still runs,
    /// points both at Jupyter's proxy where there is one, else at the direct address (see
    /// the module docs). The script marks its choice on the frame's box: `data-live-via`
    /// is `probing`, then `proxy`, `direct` or `stopped`.
    pub fn show(&self) -> Html {
        let url = self.url();
        Html::new(
            format!(
                "<div class=\"stream-demo-live\" data-proxy-path=\"{p}\" data-direct=\"{u}\" \
                 data-kernel-id=\"{k}\" data-stopped=\"{stopped}\">\
                 <p><a href=\"{u}\" target=\"_blank\">{u}</a> ({live})</p>\
                 <iframe src=\"about:blank\" width=\"100%\" height=\"760\" style=\"border:1px \
                     solid #ddd\"></iframe><script>{FRAME_JS}</script></div>",
                u = escape(&url),
                p = escape(&self.proxy_path()),
                k = escape(&self.kernel_id),
                live = tr("live, refreshes itself", "en vivo, se actualiza sola"),
                stopped = tr(
                    "the live page stopped with its kernel: run the notebook again to see it",
                    "la página en vivo se detuvo con su kernel: ejecuta el cuaderno de nuevo para verla"
                ),
            ),
            format!("live page: {url}"),
        )
    }

    /// Called by evcxr: shows the iframe.
    pub fn evcxr_display(&self) {
        self.show().evcxr_display();
    }

    /// Stops the server: it returns within about half a second, whatever clients do.
    pub fn stop(&self) {
        self.server.stop();
    }
}

/// A listening socket on 127.0.0.1 (a free port) with a long accept queue, so a burst of
/// connections waits in the kernel instead of being refused.
fn bind_loopback() -> std::io::Result<TcpListener> {
    let socket = tokio::net::TcpSocket::new_v4()?;
    // So that [`hold_port`] can bind the port too (only our own user can: Linux keeps a
    // port shared this way to sockets of one user).
    socket.set_reuseport(true)?;
    // Once the process has ended, its closed connections (TIME_WAIT) do not keep the port.
    socket.set_reuseaddr(true)?;
    socket.bind(SocketAddr::from(([127, 0, 0, 1], 0)))?;
    socket.listen(1024)
}

/// Ports of stopped pages, bound (not listening) until the process ends, at most this many
/// (then the oldest is let go).
const HELD_PORTS: usize = 256;

/// Keeps `addr`'s port bound, without listening, until the process ends: connections to it
/// are refused, and no other user's program can listen there while the notebook that
/// showed it runs (see the module docs). Best effort: a port that cannot be held is not.
fn hold_port(addr: SocketAddr) {
    static HELD: Mutex<VecDeque<tokio::net::TcpSocket>> = Mutex::new(VecDeque::new());
    let Ok(socket) = tokio::net::TcpSocket::new_v4() else {
        return;
    };
    if socket.set_reuseport(true).is_ok() && socket.bind(addr).is_ok() {
        let mut held = lock(&HELD);
        if held.len() == HELD_PORTS {
            held.pop_front();
        }
        held.push_back(socket);
    }
}

/// The id of the Jupyter kernel this code runs in: the `<id>` of the connection file
/// `kernel-<id>.json` that Jupyter names after the kernel and passes on the kernel's
/// command line (evcxr runs our code in a child of that process: this process and up to
/// three ancestors are looked at). `None` outside Jupyter.
pub fn jupyter_kernel_id() -> Option<String> {
    let mut pid = std::process::id();
    for _ in 0..4 {
        let cmdline = std::fs::read(format!("/proc/{pid}/cmdline")).ok()?;
        if let Some(id) = kernel_id_in(&cmdline) {
            return Some(id);
        }
        let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
        // `pid (comm) state ppid ...`: comm may hold spaces and parentheses.
        pid = stat
            .rsplit_once(')')?
            .1
            .split_whitespace()
            .nth(1)?
            .parse()
            .ok()?;
        if pid <= 1 {
            return None;
        }
    }
    None
}

/// The kernel id in a command line (NUL-separated arguments): the `<id>` of an argument
/// ending in `kernel-<id>.json`, where `<id>` is a UUID (36 hex digits and dashes).
fn kernel_id_in(cmdline: &[u8]) -> Option<String> {
    cmdline.split(|b| *b == 0).find_map(|arg| {
        let name = arg.rsplit(|b| *b == b'/').next()?;
        let id = name.strip_prefix(b"kernel-")?.strip_suffix(b".json")?;
        let uuid = id.len() == 36
            && id.iter().enumerate().all(|(i, b)| {
                if [8, 13, 18, 23].contains(&i) {
                    *b == b'-'
                } else {
                    b.is_ascii_hexdigit()
                }
            });
        uuid.then(|| String::from_utf8_lossy(id).into_owned())
    })
}

/// 128 random bits from the operating system, as 32 hex digits.
fn random_hex() -> std::io::Result<String> {
    use std::io::Read;
    let mut bytes = [0u8; SECRET_HEX / 2];
    std::fs::File::open("/dev/urandom")?.read_exact(&mut bytes)?;
    Ok(bytes.iter().map(|b| format!("{b:02x}")).collect())
}

/// Whether two strings are equal, in a time that does not depend on where they differ.
fn same_secret(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// What the server serves, shared by the connections.
struct Site {
    /// The consumer whose snapshots are shown.
    pipeline: Pipeline,
    /// How often the page fetches a new fragment.
    refresh: Duration,
    /// The secret path segment: under it, any `Host` is answered (Jupyter's proxy).
    secret: Arc<str>,
    /// The newest snapshot's answers, made once and shared by every reader.
    cache: Mutex<Cache>,
    /// A random id every answer carries ([`PAGE_ID_HEADER`]) and the page knows: its script
    /// stops at once if something else answers at its address.
    page_id: HeaderValue,
    /// The Jupyter kernel this page runs in (see [`LivePage`]).
    kernel_id: Arc<str>,
}

/// The header that says an answer comes from this very page: the page's script stops at
/// once when a successful answer lacks it (another program took the port).
pub const PAGE_ID_HEADER: &str = "x-stream-demo-page";

/// The answers made from one snapshot: `/snapshot.json` and `/fragment`. Made at most once
/// per [`CACHE_EVERY`] and shared (reference-counted) by every connection sending them, so
/// a hundred slow readers hold one copy, and a request costs no serialising.
#[derive(Default)]
struct Cache {
    /// The trigger the answers are of.
    trigger: Option<u64>,
    /// When they were made.
    made: Option<std::time::Instant>,
    /// The snapshot as JSON.
    json: Bytes,
    /// The dashboard fragment.
    fragment: Bytes,
}

/// How often the cached answers may be made again (a trigger can fire every 10 ms).
const CACHE_EVERY: Duration = Duration::from_millis(500);

/// An answer's body: one shared buffer, sent once.
pub struct Shared(Option<Bytes>);

impl http_body::Body for Shared {
    type Data = Bytes;
    type Error = Infallible;

    fn poll_frame(
        mut self: std::pin::Pin<&mut Self>,
        _: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Option<Result<http_body::Frame<Bytes>, Infallible>>> {
        std::task::Poll::Ready(self.0.take().map(|b| Ok(http_body::Frame::data(b))))
    }

    fn is_end_stream(&self) -> bool {
        self.0.is_none()
    }

    fn size_hint(&self) -> http_body::SizeHint {
        http_body::SizeHint::with_exact(self.0.as_ref().map_or(0, |b| b.len() as u64))
    }
}

/// The open connections, oldest first, each with the switch that closes it.
type Connections = Mutex<VecDeque<(u64, oneshot::Sender<()>)>>;

/// Accepts connections until `shutdown`; each is served on a task of its own, within the
/// limits in the module docs.
async fn accept_loop(listener: TcpListener, site: Arc<Site>, mut shutdown: oneshot::Receiver<()>) {
    let open: Arc<Connections> = Arc::default();
    for id in 0u64.. {
        let accepted = tokio::select! {
            _ = &mut shutdown => return,
            accepted = listener.accept() => accepted,
        };
        let Ok((stream, _)) = accepted else {
            // Out of file descriptors, most likely: let connections close, then go on.
            tokio::time::sleep(Duration::from_millis(50)).await;
            continue;
        };
        let (close, closed) = oneshot::channel();
        {
            let mut open = lock(&open);
            while open.len() >= MAX_CONNECTIONS {
                // Closing the oldest: a slow or idle client cannot hold a place for long.
                if let Some((_, oldest)) = open.pop_front() {
                    let _ = oldest.send(());
                }
            }
            open.push_back((id, close));
        }
        tokio::spawn(serve_connection(
            stream,
            site.clone(),
            closed,
            open.clone(),
            id,
        ));
    }
}

/// Serves one connection (one request) until it is done, closed to make room, or has
/// lived [`CONNECTION_LIFETIME`].
async fn serve_connection(
    stream: TcpStream,
    site: Arc<Site>,
    closed: oneshot::Receiver<()>,
    open: Arc<Connections>,
    id: u64,
) {
    let service = service_fn(move |req| {
        let site = site.clone();
        async move {
            let mut answer = site.answer(&req);
            answer
                .headers_mut()
                .insert(PAGE_ID_HEADER, site.page_id.clone());
            Ok::<_, Infallible>(answer)
        }
    });
    let connection = http1::Builder::new()
        .timer(TokioTimer::new())
        .header_read_timeout(HEADER_TIMEOUT)
        .max_buf_size(MAX_HEAD_BYTES)
        .keep_alive(false)
        .serve_connection(TokioIo::new(stream), service);
    tokio::select! {
        _ = connection => {}
        _ = closed => {}
        _ = tokio::time::sleep(CONNECTION_LIFETIME) => {}
    }
    lock(&open).retain(|(i, _)| *i != id);
}

impl Site {
    /// The answer to one request (the connection is closed after it).
    fn answer(&self, req: &Request<Incoming>) -> Response<Shared> {
        let (path, has_secret) = self.strip_secret(req.uri().path());
        if let Some(refused) = self.refusal(req, has_secret) {
            return refused;
        }
        match path {
            "/" | "/index.html" => respond(
                StatusCode::OK,
                "text/html; charset=utf-8",
                page(
                    self.refresh,
                    self.page_id.to_str().unwrap_or(""),
                    &self.kernel_id,
                ),
            ),
            "/live.js" => respond(
                StatusCode::OK,
                "text/javascript; charset=utf-8",
                LIVE_JS.to_string(),
            ),
            "/fragment" => respond(
                StatusCode::OK,
                "text/html; charset=utf-8",
                self.cached(|c| c.fragment.clone()),
            ),
            "/snapshot.json" => respond(
                StatusCode::OK,
                "application/json",
                self.cached(|c| c.json.clone()),
            ),
            _ => plain(StatusCode::NOT_FOUND, "not found"),
        }
    }

    /// One of the newest snapshot's answers, made again if a newer trigger came and the
    /// last were made more than [`CACHE_EVERY`] ago.
    fn cached(&self, pick: impl Fn(&Cache) -> Bytes) -> Bytes {
        let mut cache = lock(&self.cache);
        let snap = self.pipeline.snapshot();
        let trigger = snap.as_ref().map(|s| s.metrics.trigger_id);
        let stale = cache.made.is_none_or(|m| m.elapsed() >= CACHE_EVERY);
        // Before the first trigger the fragment shows the consumer's state, which changes.
        if cache.made.is_none() || (stale && (trigger != cache.trigger || trigger.is_none())) {
            cache.json = serde_json::to_string(&snap.as_deref())
                .unwrap_or_else(|_| "null".into())
                .into();
            cache.fragment = fragment(&self.pipeline).into();
            cache.trigger = trigger;
            cache.made = Some(std::time::Instant::now());
        }
        pick(&cache)
    }

    /// `path` without its leading `/<secret>`, and whether it had one (`/<secret>/x` is
    /// `/x`; `/<secret>` alone is not stripped).
    fn strip_secret<'a>(&self, path: &'a str) -> (&'a str, bool) {
        let rest = path.strip_prefix('/').unwrap_or(path);
        match rest.get(..SECRET_HEX) {
            Some(head)
                if same_secret(head.as_bytes(), self.secret.as_bytes())
                    && rest[SECRET_HEX..].starts_with('/') =>
            {
                (&rest[SECRET_HEX..], true)
            }
            _ => (path, false),
        }
    }

    /// Why a request is not answered, if it is not: no `Host`, a path without the secret, a
    /// method other than GET/HEAD, or a body.
    fn refusal(&self, req: &Request<Incoming>, has_secret: bool) -> Option<Response<Shared>> {
        if !req.headers().contains_key(header::HOST) {
            return Some(plain(StatusCode::BAD_REQUEST, "a Host header is required"));
        }
        if !has_secret {
            // Any program of any user on the machine can reach the port: without the secret
            // (which only the notebook's output shows) nothing is answered.
            return Some(plain(
                StatusCode::FORBIDDEN,
                "this page answers only under its secret path: open the address the notebook shows",
            ));
        }
        if req.method() != Method::GET && req.method() != Method::HEAD {
            let mut r = plain(StatusCode::METHOD_NOT_ALLOWED, "only GET and HEAD");
            r.headers_mut()
                .insert(header::ALLOW, HeaderValue::from_static("GET, HEAD"));
            return Some(r);
        }
        let has_body = req.headers().contains_key(header::TRANSFER_ENCODING)
            || req
                .headers()
                .get(header::CONTENT_LENGTH)
                .is_some_and(|v| v.as_bytes() != b"0");
        if has_body {
            return Some(plain(
                StatusCode::PAYLOAD_TOO_LARGE,
                "requests with a body are not accepted",
            ));
        }
        None
    }
}

/// A plain-text answer.
fn plain(status: StatusCode, text: &str) -> Response<Shared> {
    respond(status, "text/plain; charset=utf-8", format!("{text}\n"))
}

/// An answer with the headers every answer carries (see the module docs).
fn respond(status: StatusCode, kind: &'static str, body: impl Into<Bytes>) -> Response<Shared> {
    let mut r = Response::new(Shared(Some(body.into())));
    *r.status_mut() = status;
    let h = r.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static(kind));
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(CONTENT_SECURITY_POLICY),
    );
    h.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    r
}

fn fragment(pipeline: &Pipeline) -> String {
    match pipeline.snapshot() {
        Some(snap) => match dashboard(&snap, pipeline.config().window.slide) {
            Ok(html) => html.markup,
            Err(e) => format!("<p>{}</p>", escape(&e.to_string())),
        },
        None => {
            let st = pipeline.status();
            format!(
                "<p>{} ({}: {})</p>",
                tr(
                    "Waiting for the first trigger…",
                    "Esperando al primer disparador…"
                ),
                tr("consumer", "consumidor"),
                escape(&st.broker.to_string())
            )
        }
    }
}

/// The page's only script: fetches the dashboard every `data-refresh-ms` and swaps it in.
/// (A file of its own, not inline, so the policy can forbid every inline script.) The
/// address is relative: the same script works at `/` and under a proxy's prefix.
///
/// When a fetch fails (the notebook stopped the page, or a proxy answers that nothing
/// listens) it tries again later, twice as long each time up to a minute, and recovers
/// when the page answers again; after ten minutes of failures it gives up. Behind a proxy
/// each request carries the browser's Jupyter cookies to whatever listens on the port, so
/// every answer must carry this page's id ([`PAGE_ID_HEADER`], also in `data-page-id`):
/// a successful answer without it (another program took the port) stops the script at
/// once, after that one request; and, behind the proxy, it tries again after a failure
/// only while the notebook's kernel runs (`data-kernel-id`, asked of Jupyter itself),
/// since that kernel holds the port (see the module docs).
/// Its first line is what the notebook's frame script looks for (see [`FRAME_JS`]).
const LIVE_JS: &str = r#"// stream-demo live page
const every = Number(document.body.dataset.refreshMs) || 2000;
const id = document.body.dataset.pageId || '';
const kernel = document.body.dataset.kernelId || '';
// Behind Jupyter's proxy (<base>proxy/<port>/<secret>/) every request carries the
// browser's Jupyter cookies to the port: after a failure, try again only while the
// notebook's kernel, which holds the port, still runs (Jupyter itself answers that).
const proxied = location.pathname.match(/^(.*\/)proxy\/\d+\/[0-9a-f]{32}\/[^/]*$/);
async function kernelRuns() {
  if (!proxied || !kernel) return true;
  try {
    const r = await fetch(proxied[1] + 'api/kernels/' + encodeURIComponent(kernel), {cache: 'no-store'});
    return r.ok;
  } catch (e) {
    return false;
  }
}
let failures = 0;
let failingSince = null;
async function refresh() {
  const clock = document.getElementById('clock');
  let again = true;
  try {
    const r = await fetch('fragment', {cache: 'no-store'});
    if (r.headers.get('x-stream-demo-page') !== id && r.status < 500) {
      clock.textContent = 'another program answers at this address: stopped';
      again = false;
    } else {
      if (!r.ok) throw new Error('HTTP ' + r.status);
      document.getElementById('dashboard').innerHTML = await r.text();
      clock.textContent = 'updated ' + new Date().toLocaleTimeString();
      failures = 0;
      failingSince = null;
    }
  } catch (e) {
    failures += 1;
    if (failingSince === null) failingSince = Date.now();
    if (!(await kernelRuns())) {
      clock.textContent = 'the notebook\'s kernel stopped: this page is over';
      again = false;
    } else if (Date.now() - failingSince > 600000) {
      clock.textContent = 'the notebook stopped serving this page';
      again = false;
    } else {
      clock.textContent = 'the page does not answer: trying again';
    }
  }
  if (again) setTimeout(refresh, Math.min(60000, every * 2 ** failures));
}
refresh();
"#;

/// The script in the notebook's frame ([`LivePage::show`]): in a page served by a
/// Jupyter server (its base URL in `#jupyter-config-data`, or `body[data-base-url]` in the
/// classic notebook), it first asks Jupyter (`<base_url>api/kernels/<id>`) whether the
/// kernel that made the output still runs; if not, it sends nothing to the page's port
/// and says the page stopped with its kernel. If it runs, it asks for
/// `<base_url><proxy path>live.js`; if our script comes back (`jupyter-server-proxy` is
/// there), the frame and the link go to the proxy, else to the direct address. Outside a
/// Jupyter page, or without a kernel id, it loads nothing (`unverified`). It runs where
/// the notebook's outputs are trusted (JupyterLab and Notebook 7 run scripts in a trusted
/// `text/html` output; a notebook you ran yourself is trusted). The box gets
/// `data-live-via`: `probing`, then `proxy`, `direct`, `stopped` or `unverified`. No
/// `EVCXR_` and no `</` inside (it sits in a `<script>` element of an evcxr output).
const FRAME_JS: &str = "(function () {\
  var box = document.currentScript && document.currentScript.parentElement;\
  if (!box || !box.dataset.proxyPath) return;\
  box.dataset.liveVia = 'probing';\
  var frame = box.querySelector('iframe'), link = box.querySelector('a');\
  function use(u, via) { frame.src = u; link.href = u; link.textContent = u; box.dataset.liveVia = via; }\
  function stopped() {\
    box.dataset.liveVia = 'stopped'; link.removeAttribute('href');\
    link.textContent = box.dataset.stopped; frame.style.display = 'none';\
  }\
  var base = null, cfg = document.getElementById('jupyter-config-data');\
  if (cfg) { try { base = JSON.parse(cfg.textContent).baseUrl; } catch (e) {} }\
  if (!base && document.body) base = document.body.getAttribute('data-base-url');\
  var kernel = box.dataset.kernelId;\
  if (!base || !kernel) { box.dataset.liveVia = 'unverified'; return; }\
  if (base.charAt(base.length - 1) !== '/') base += '/';\
  var xsrf = document.cookie.match(/(?:^|; )_xsrf=([^;]*)/);\
  fetch(base + 'api/kernels/' + encodeURIComponent(kernel), {cache: 'no-store',\
      credentials: 'same-origin', headers: xsrf ? {'X-XSRFToken': decodeURIComponent(xsrf[1])} : {}})\
    .then(function (r) { return r.ok ? r.json() : null; })\
    .then(function (k) {\
      if (!k || k.id !== kernel) { stopped(); return; }\
      var url = base + box.dataset.proxyPath;\
      return fetch(url + 'live.js', {cache: 'no-store', credentials: 'same-origin'})\
        .then(function (r) { return r.ok ? r.text() : ''; })\
        .then(function (text) {\
          if (text.indexOf('// stream-demo live page') !== 0) throw new Error('no proxy');\
          use(new URL(url, location.href).href, 'proxy');\
        })\
        .catch(function () { use(box.dataset.direct, 'direct'); });\
    }, stopped);\
})();";

fn page(refresh: Duration, page_id: &str, kernel_id: &str) -> String {
    let ms = refresh.as_millis().max(500);
    format!(
        r#"<!doctype html>
<html><head><meta charset="utf-8"><title>Trending hashtags (live)</title>
<style>body{{font-family:sans-serif;margin:8px}} td,th{{font-family:monospace}}</style>
<noscript><meta http-equiv="refresh" content="{secs}"></noscript>
</head><body data-refresh-ms="{ms}" data-page-id="{page_id}" data-kernel-id="{kernel_id}">
<h3>Trending hashtags <small id="clock" style="color:#888"></small></h3>
<div id="dashboard">Loading…</div>
<script src="live.js"></script>
</body></html>"#,
        secs = (ms / 1000).max(1),
        kernel_id = escape(kernel_id),
        ms = ms
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_kernel_id_is_read_from_the_connection_file_on_the_command_line() {
        let id = "0b8f2c3e-6d4a-4f1e-9a7b-2c5d8e1f3a6b";
        let cmd = format!("/opt/x/evcxr_jupyter\0--control_file\0/run/jupyter/kernel-{id}.json\0");
        assert_eq!(kernel_id_in(cmd.as_bytes()).as_deref(), Some(id));
        // The hub's start script passes the file alone.
        let cmd = format!("/bin/sh\0/hub/bin/rust-kernel\0kernel-{id}.json\0");
        assert_eq!(kernel_id_in(cmd.as_bytes()).as_deref(), Some(id));
        // Anything else is no kernel id.
        for cmd in [
            "python\0-m\0ipykernel\0-f\0/tmp/tmpab12.json\0",
            "x\0kernel-0b8f2c3e.json\0",
            "x\0kernel-0b8f2c3e-6d4a-4f1e-9a7b-2c5d8e1f3a6bX.json\0",
            "x\0kernel-0b8f2c3e_6d4a_4f1e_9a7b_2c5d8e1f3a6b.json\0",
            "x\0kernel-0b8f2c3e-6d4a-4f1e-9a7b-2c5d8e1f3a6g.json\0",
            "",
        ] {
            assert_eq!(kernel_id_in(cmd.as_bytes()), None, "{cmd:?}");
        }
    }

    #[test]
    fn the_frame_script_sends_nothing_to_the_port_before_jupyter_says_the_kernel_runs() {
        // The order in the script: the kernel check, then the probe of the port.
        let kernels = FRAME_JS.find("'api/kernels/'").expect("kernel check");
        let probe = FRAME_JS.find("'live.js'").expect("probe");
        let direct = FRAME_JS.find("box.dataset.direct").expect("direct");
        assert!(kernels < probe && kernels < direct, "{FRAME_JS}");
        assert!(!FRAME_JS.contains("</") && !FRAME_JS.contains("EVCXR_"));
        // Nothing is loaded before the script chose: the frame starts empty.
        assert!(!FRAME_JS.contains("frame.src = box"), "{FRAME_JS}");
    }
}
