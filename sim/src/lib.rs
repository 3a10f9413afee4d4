//! The simulator: both vendor APIs on one port, faithful to the documents in
//! `../shared/seeds/` (quirks included), so that tests, the demo and the
//! benchmarks have the other side of the wire.
//!
//! Layout: CloudRoom under `/CLOUDROOM-SERVER/v2/...` ([`cloudroom`]),
//! Aliyun RPC at `/` ([`aliyun`]), test controls under `/__admin/` ([`admin`]).

pub mod admin;
pub mod aliyun;
pub mod cloudroom;
pub mod data;
pub mod files;
pub mod rate;
pub mod signing;
pub mod tenants;

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};

use axum::Router;
use serde::Serialize;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

/// The document's example credentials: the simulator accepts them by default.
pub const DOC_SECRET_ID: &str = "6mioUaDlFdf3Bagt3s";
pub const DOC_SECRET_KEY: &str = "t02npiEZn82WqRl26Nfb0stD89bZkwTT";
pub const SIM_ACCESS_KEY_ID: &str = "sim-access-key-id";
pub const SIM_ACCESS_KEY_SECRET: &str = "sim-access-key-secret";

/// `confsync simulate` flags; tests build it with `SimConfig::default()`.
#[derive(Debug, Clone, clap::Args)]
pub struct SimConfig {
    /// Address to listen on.
    #[arg(long, default_value = "127.0.0.1")]
    pub host: String,
    /// Port to listen on (0 picks a free one).
    #[arg(long, default_value_t = 8089)]
    pub port: u16,
    /// Seed for the generated data: the same seed gives the same data.
    #[arg(long, default_value_t = 42)]
    pub seed: u64,
    /// Conferences in the conference list (scheduled or in progress).
    #[arg(long, default_value_t = 50)]
    pub conferences: usize,
    /// Ended meetings in the history list, spread over three years.
    #[arg(long, default_value_t = 500)]
    pub history: usize,
    /// Recordings per ended meeting.
    #[arg(long, default_value_t = 1)]
    pub recordings_per_conference: usize,
    /// CloudRoom's request limits and the readings of them the document leaves open.
    #[command(flatten)]
    pub rate: rate::RateFlags,
    /// Fraction of requests answered HTTP 500 with code 500.
    #[arg(long, default_value_t = 0.0)]
    pub fail_rate: f64,
    /// Added latency per request, in milliseconds.
    #[arg(long, default_value_t = 0)]
    pub latency_ms: u64,
    /// The CloudRoom secretId the simulator accepts (the document's example by default).
    #[arg(long, default_value = DOC_SECRET_ID)]
    pub secret_id: String,
    /// The CloudRoom secretKey that signs its requests.
    #[arg(long, default_value = DOC_SECRET_KEY)]
    pub secret_key: String,
    /// The Aliyun AccessKeyId the simulator accepts.
    #[arg(long, default_value = SIM_ACCESS_KEY_ID)]
    pub access_key_id: String,
    /// The Aliyun AccessKeySecret that signs its requests.
    #[arg(long, default_value = SIM_ACCESS_KEY_SECRET)]
    pub access_key_secret: String,
    /// Leave `remaining` out of list answers, as the document's examples do
    /// (its tables list it): the client must page by `total`.
    #[arg(long)]
    pub omit_remaining: bool,
    /// Answer GET conference/{confId} for a conference that exists only in
    /// the meeting history with 22201, as "not found": the document does
    /// not say whether the detail of an ended meeting can be read (by
    /// default it can).
    #[arg(long)]
    pub ended_detail_not_found: bool,
    /// Serve each recording's file at its `url` (here): deterministic bytes
    /// of its listed size, with Range; without it the URLs are the
    /// document's example addresses, which nothing serves.
    #[arg(long)]
    pub serve_files: bool,
    /// With --serve-files, files keep their generated size (hundreds of MB)
    /// instead of a 1024th of it.
    #[arg(long)]
    pub full_size_files: bool,
    /// How a credential of the wrong scope is refused (an enterprise's on
    /// the company endpoints, the platform's on an enterprise's): the
    /// document lists 22224 (权限不足) and 22007 (企业未开放API接口权限)
    /// without saying which applies.
    #[arg(long, value_enum, default_value_t = cloudroom::WrongScope::Permission)]
    pub wrong_scope: cloudroom::WrongScope,
    /// Serve this many more CloudRoom enterprises, each with its own
    /// secretId/secretKey, data and rate windows (docs/simulator.md).
    #[arg(long, default_value_t = 0)]
    pub tenants: usize,
    /// Write the credentials of --tenants, and the platform credential of
    /// the company endpoints, to this file as JSON.
    #[arg(long, value_name = "PATH")]
    pub tenants_file: Option<std::path::PathBuf>,
    /// How GetUser answers for a user that does not exist, which the Aliyun
    /// document does not say: `error` (Success=false, an English message),
    /// `error-zh` (Success=false, a Chinese message) or `empty`
    /// (Success=true without UserInfo).
    #[arg(long, value_enum, default_value_t = aliyun::AbsentUser::Error)]
    pub aliyun_absent_user: aliyun::AbsentUser,
    /// How a failure the CloudRoom document gives no code of its own is
    /// worded (an account that exists already, an unknown account or
    /// department, a missing field): `generic`, the table's 400
    /// 请求地址或参数错误 for all of them (the document's literal reading),
    /// or `descriptive`, a Chinese message naming the problem.
    #[arg(long, value_enum, default_value_t = cloudroom::UndocumentedErrors::Generic)]
    pub undocumented_errors: cloudroom::UndocumentedErrors,
    /// The validator a served file's answer carries (`etag`,
    /// `last-modified` or `none`): the document says nothing of the
    /// download server, so each is a plausible reading.
    #[arg(long, value_enum, default_value_t = files::FileValidators::Etag)]
    pub file_validators: files::FileValidators,
    /// Hostile records in the list answers (NUL and control characters,
    /// lone surrogates, 1 MB strings, numbers out of range, unknown enum
    /// values, duplicates, null entries, missing keys): docs/simulator.md.
    #[arg(long)]
    pub hostile_data: bool,
    /// Epoch seconds the generated data is anchored at ("now" for the data);
    /// defaults to the start of the current UTC day, so a seed is stable for a day.
    #[arg(long)]
    pub anchor: Option<i64>,
}

impl Default for SimConfig {
    fn default() -> Self {
        SimConfig {
            host: "127.0.0.1".into(),
            port: 0,
            seed: 42,
            conferences: 50,
            history: 500,
            recordings_per_conference: 1,
            rate: rate::RateFlags::default(),
            fail_rate: 0.0,
            latency_ms: 0,
            secret_id: DOC_SECRET_ID.into(),
            secret_key: DOC_SECRET_KEY.into(),
            access_key_id: SIM_ACCESS_KEY_ID.into(),
            access_key_secret: SIM_ACCESS_KEY_SECRET.into(),
            omit_remaining: false,
            ended_detail_not_found: false,
            serve_files: false,
            full_size_files: false,
            wrong_scope: cloudroom::WrongScope::Permission,
            tenants: 0,
            tenants_file: None,
            aliyun_absent_user: aliyun::AbsentUser::Error,
            undocumented_errors: cloudroom::UndocumentedErrors::Generic,
            file_validators: files::FileValidators::Etag,
            hostile_data: false,
            anchor: None,
        }
    }
}

impl SimConfig {
    pub fn anchor(&self) -> i64 {
        self.anchor.unwrap_or_else(|| {
            let now = chrono::Utc::now().timestamp();
            now - now.rem_euclid(86_400)
        })
    }
}

/// One count per (vendor, endpoint, HTTP status, vendor code).
#[derive(Debug, Clone, Serialize, PartialEq, Eq, PartialOrd, Ord)]
pub struct CounterKey {
    pub vendor: &'static str,
    pub endpoint: String,
    pub status: u16,
    pub code: String,
}

/// Everything the simulator knows; handlers lock one part at a time.
pub struct SimState {
    pub config: SimConfig,
    pub cloudroom: Mutex<cloudroom::World>,
    /// The enterprises of `--tenants`, besides the one of `--secret-id`.
    pub tenants: Vec<tenants::Tenant>,
    pub aliyun: Mutex<aliyun::World>,
    pub counters: Mutex<BTreeMap<CounterKey, u64>>,
    /// Seconds added to the simulator's clock, so tests can put the client
    /// out of step with the server without touching the system clock.
    pub clock_skew: AtomicI64,
    /// Runtime fault injection set through `/__admin/faults`.
    pub faults: Mutex<Faults>,
}

#[derive(Debug, Clone, Default, Serialize, serde::Deserialize)]
#[serde(default)]
pub struct Faults {
    /// Overrides `--fail-rate` when set.
    pub fail_rate: Option<f64>,
    /// The next N CloudRoom requests answer 429 with code 22008.
    pub cloudroom_429_next: u32,
    /// The next N Aliyun requests answer Throttling.
    pub aliyun_throttle_next: u32,
    /// The next N requests to either vendor answer HTTP 500.
    pub fail_next: u32,
    /// Every CloudRoom request is refused with 22006, as after the
    /// enterprise's secretId was revoked.
    pub cloudroom_revoked: bool,
    /// What a recording's file answers, by file id (`*`: every file).
    pub files: BTreeMap<String, files::FileFault>,
    /// CloudRoom requests that take effect and then answer only after a
    /// delay (a client's timeout sees no answer), by endpoint label.
    pub slow_answers: BTreeMap<String, SlowAnswer>,
    /// Every CloudRoom API request is answered `307 Temporary Redirect`
    /// with this `Location` (another origin, as a hijacked or misrouted
    /// gateway would send).
    pub redirect_to: Option<String>,
}

/// The next `count` requests to one endpoint take effect, then answer
/// `millis` later.
#[derive(Debug, Clone, Default, Serialize, serde::Deserialize)]
#[serde(default)]
pub struct SlowAnswer {
    pub count: u32,
    pub millis: u64,
}

impl SimState {
    pub fn new(config: SimConfig) -> Self {
        let world = cloudroom::World::generate(&config);
        SimState {
            cloudroom: Mutex::new(world),
            tenants: tenants::generate(&config),
            aliyun: Mutex::new(aliyun::World::default()),
            counters: Mutex::new(BTreeMap::new()),
            clock_skew: AtomicI64::new(0),
            faults: Mutex::new(Faults::default()),
            config,
        }
    }

    /// The CloudRoom world of an enterprise of `--tenants`, or the main one.
    pub fn world_of(&self, tenant: Option<usize>) -> &Mutex<cloudroom::World> {
        match tenant.and_then(|t| self.tenants.get(t)) {
            Some(t) => &t.world,
            None => &self.cloudroom,
        }
    }

    /// The delay of this request's answer, when a slow-answer fault is
    /// armed for its endpoint (it counts down).
    pub fn slow_answer(&self, endpoint: &str) -> Option<u64> {
        let mut faults = self.faults();
        let slow = faults.slow_answers.get_mut(endpoint)?;
        if slow.count == 0 {
            return None;
        }
        slow.count -= 1;
        Some(slow.millis)
    }

    /// What a recording's file answers instead of its bytes, if anything.
    pub fn file_fault(&self, file_id: &str) -> Option<files::FileFault> {
        let faults = self.faults();
        faults
            .files
            .get(file_id)
            .or_else(|| faults.files.get("*"))
            .cloned()
    }

    /// The simulator's idea of the current time, in epoch seconds.
    pub fn now(&self) -> i64 {
        chrono::Utc::now().timestamp() + self.clock_skew.load(Ordering::Relaxed)
    }

    pub fn count(&self, vendor: &'static str, endpoint: &str, status: u16, code: &str) {
        let key = CounterKey {
            vendor,
            endpoint: endpoint.to_string(),
            status,
            code: code.to_string(),
        };
        *lock(&self.counters).entry(key).or_default() += 1;
    }

    /// Requests answered so far, summed over whatever matches.
    pub fn requests(&self, vendor: &str, endpoint: Option<&str>, status: Option<u16>) -> u64 {
        lock(&self.counters)
            .iter()
            .filter(|(k, _)| k.vendor == vendor)
            .filter(|(k, _)| endpoint.is_none_or(|e| k.endpoint == e))
            .filter(|(k, _)| status.is_none_or(|s| k.status == s))
            .map(|(_, n)| *n)
            .sum()
    }

    pub fn faults(&self) -> MutexGuard<'_, Faults> {
        lock(&self.faults)
    }

    /// Decides whether this request fails with an injected HTTP 500.
    pub fn should_fail(&self) -> bool {
        let mut faults = self.faults();
        if faults.fail_next > 0 {
            faults.fail_next -= 1;
            return true;
        }
        let rate = faults.fail_rate.unwrap_or(self.config.fail_rate);
        rate > 0.0 && rand::random::<f64>() < rate
    }

    pub async fn add_latency(&self) {
        if self.config.latency_ms > 0 {
            tokio::time::sleep(std::time::Duration::from_millis(self.config.latency_ms)).await;
        }
    }
}

/// A poisoned lock only means another handler panicked; the data is still usable.
pub fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

pub fn router(state: Arc<SimState>) -> Router {
    Router::new()
        .nest("/CLOUDROOM-SERVER/v2", cloudroom::routes())
        .nest("/__admin", admin::routes())
        .merge(aliyun::routes())
        .route(
            "/files/{file_id}/{name}",
            axum::routing::get(files::serve_file),
        )
        .with_state(state)
}

/// A simulator serving in the background of this process.
pub struct RunningSimulator {
    pub addr: SocketAddr,
    pub state: Arc<SimState>,
    shutdown: CancellationToken,
    handle: JoinHandle<()>,
}

impl RunningSimulator {
    pub fn base_url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// What `cloudroom.base_url` should be to talk to this simulator.
    pub fn cloudroom_base_url(&self) -> String {
        format!("http://{}/CLOUDROOM-SERVER", self.addr)
    }

    /// What `aliyun.endpoint` should be to talk to this simulator.
    pub fn aliyun_endpoint(&self) -> String {
        format!("http://{}", self.addr)
    }

    pub async fn stop(self) {
        self.shutdown.cancel();
        let _ = self.handle.await;
    }
}

/// Binds `config.host:config.port` and serves until [`RunningSimulator::stop`].
pub async fn start(config: SimConfig) -> std::io::Result<RunningSimulator> {
    let listener = tokio::net::TcpListener::bind((config.host.as_str(), config.port)).await?;
    let addr = listener.local_addr()?;
    let serve_files = config.serve_files.then_some(config.full_size_files);
    let tenants_file = config.tenants_file.clone();
    let state = Arc::new(SimState::new(config));
    if let Some(path) = tenants_file {
        let text = serde_json::to_string_pretty(&tenants::file(&state.tenants))?;
        std::fs::write(path, text)?;
    }
    if let Some(full_size) = serve_files {
        lock(&state.cloudroom).serve_files_at(&format!("http://{addr}"), full_size);
    }
    let shutdown = CancellationToken::new();
    let app = router(state.clone());
    let token = shutdown.clone();
    let handle = tokio::spawn(async move {
        let serve = axum::serve(listener, app).with_graceful_shutdown(token.cancelled_owned());
        if let Err(e) = serve.await {
            tracing::error!(error = %e, "simulator stopped");
        }
    });
    Ok(RunningSimulator {
        addr,
        state,
        shutdown,
        handle,
    })
}
