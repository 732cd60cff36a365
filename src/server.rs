//! Wiring for `bookme serve`: open the store, bind, run the HTTP server, the
//! worker and the notification dispatcher under one shutdown signal.

use std::net::SocketAddr;
use std::sync::Arc;

use anyhow::Context;
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

use crate::config::Config;
use crate::http::{self, AppState};
use crate::notify::{Dispatcher, DispatcherOptions, Outbox};
use crate::store::Store;
use crate::telemetry::Metrics;
use crate::worker::{Waker, Worker, WorkerOptions};

/// A bound, ready server. Tests build one on port 0 and read its address.
pub struct Server {
    listener: TcpListener,
    state: AppState,
    store: Store,
    waker: Waker,
    with_worker: bool,
    worker_options: WorkerOptions,
    metrics_listener: Option<TcpListener>,
    dispatcher_options: DispatcherOptions,
}

impl Server {
    /// Opens and migrates the store, then binds the listener.
    pub async fn bind(config: Config) -> anyhow::Result<Self> {
        let store = Store::open(&config.database)
            .await
            .with_context(|| format!("could not open the {} store", config.database.kind()))?;
        let listener = TcpListener::bind((config.host.as_str(), config.port))
            .await
            .with_context(|| format!("could not listen on {}:{}", config.host, config.port))?;
        let waker = Waker::default();
        let worker_options = worker_options(&config);
        let bound = listener.local_addr()?;
        let metrics_listener = match config.metrics_addr {
            Some(addr) => Some(
                TcpListener::bind(addr)
                    .await
                    .with_context(|| format!("could not listen on BOOKME_METRICS_ADDR {addr}"))?,
            ),
            None => None,
        };
        let dispatcher_options = DispatcherOptions::from_config(&config.notify);
        let state = AppState::new(config, store.clone(), waker.clone(), Metrics::new(), bound);
        Ok(Self {
            listener,
            state,
            store,
            waker,
            with_worker: true,
            worker_options,
            metrics_listener,
            dispatcher_options,
        })
    }

    pub fn local_addr(&self) -> SocketAddr {
        self.listener
            .local_addr()
            .expect("a bound listener has an address")
    }

    pub fn store(&self) -> &Store {
        &self.store
    }

    /// A worker over this server's store, for tests that drive it by hand.
    pub fn worker(&self) -> Worker {
        Worker::new(self.store.clone(), &self.waker, self.worker_options.clone())
            .with_metrics(self.state.metrics().clone())
    }

    /// Replaces the worker's pacing, e.g. a short lease in tests. The
    /// outbox stays the configured one.
    pub fn with_worker_options(mut self, options: WorkerOptions) -> Self {
        let outbox = self.worker_options.outbox.clone();
        self.worker_options = WorkerOptions { outbox, ..options };
        self
    }

    /// A notification dispatcher over this server's store and outbox, for
    /// tests that drive it by hand.
    pub fn dispatcher(&self) -> Dispatcher {
        Dispatcher::new(
            self.store.clone(),
            self.state.config().notify.clone(),
            self.worker_options.outbox.clone(),
            self.dispatcher_options.clone(),
        )
        .with_metrics(self.state.metrics().clone())
    }

    /// Replaces the dispatcher's pacing, e.g. a short backoff in tests.
    pub fn with_dispatcher_options(mut self, options: DispatcherOptions) -> Self {
        self.dispatcher_options = options;
        self
    }

    /// Serves HTTP only; deliveries stay pending and notifications unsent
    /// until a worker runs.
    pub fn without_worker(mut self) -> Self {
        self.with_worker = false;
        self
    }

    /// Runs until `shutdown` fires: stops accepting, lets in-flight requests
    /// finish, and lets the worker finish the delivery it is on.
    pub async fn run(mut self, shutdown: CancellationToken) -> anyhow::Result<()> {
        self.log_start();
        let worker = self
            .with_worker
            .then(|| tokio::spawn(self.worker().run(shutdown.clone())));
        let metrics = self.spawn_metrics_listener(shutdown.clone());
        let dispatcher = self
            .with_worker
            .then(|| tokio::spawn(Arc::new(self.dispatcher()).run(shutdown.clone())));
        let app = http::router(self.state.clone());
        let header_timeout = self.state.config().header_timeout;
        http::serve::serve(self.listener, app, header_timeout, shutdown.clone()).await;
        shutdown.cancel();
        if let Some(worker) = worker {
            worker.await.context("the worker panicked")?;
        }
        if let Some(metrics) = metrics {
            metrics.await.context("the metrics listener panicked")??;
        }
        if let Some(dispatcher) = dispatcher {
            dispatcher.await.context("the dispatcher panicked")?;
        }
        tracing::info!("stopped");
        Ok(())
    }

    /// Serves `/metrics` on `BOOKME_METRICS_ADDR`, when set.
    fn spawn_metrics_listener(
        &mut self,
        shutdown: CancellationToken,
    ) -> Option<tokio::task::JoinHandle<std::io::Result<()>>> {
        let listener = self.metrics_listener.take()?;
        if let Ok(addr) = listener.local_addr() {
            tracing::info!(%addr, "metrics on http://{addr}/metrics");
        }
        let app = http::metrics_router(self.state.clone());
        let serve = axum::serve(listener, app).with_graceful_shutdown(shutdown.cancelled_owned());
        Some(tokio::spawn(async move { serve.await }))
    }

    fn log_start(&self) {
        let config = self.state.config();
        tracing::info!(
            addr = %self.local_addr(),
            store = self.store.kind(),
            mode = config.mode.as_str(),
            webhook_url = self.state.webhook_url(),
            "listening on http://{}",
            self.local_addr()
        );
        for dest in &config.notify.destinations {
            tracing::info!(
                destination = dest.name,
                kind = dest.kind.as_str(),
                "notifying"
            );
        }
        if config.secrets.is_empty() {
            tracing::warn!(
                "CAL_WEBHOOK_SECRET is not set: deliveries will be answered 500 until it is"
            );
        }
    }
}

/// The worker's pacing from the configuration.
pub fn worker_options(config: &Config) -> WorkerOptions {
    WorkerOptions {
        max_attempts: config.max_attempts,
        outbox: Outbox::from_config(&config.notify),
        ..WorkerOptions::default()
    }
}

/// Runs a worker with no HTTP server until `shutdown` fires.
pub async fn run_worker(config: Config, shutdown: CancellationToken) -> anyhow::Result<()> {
    let store = Store::open(&config.database)
        .await
        .with_context(|| format!("could not open the {} store", config.database.kind()))?;
    let options = worker_options(&config);
    let dispatcher = Dispatcher::new(
        store.clone(),
        config.notify.clone(),
        options.outbox.clone(),
        DispatcherOptions::from_config(&config.notify),
    );
    let worker = Worker::new(store.clone(), &Waker::default(), options);
    tracing::info!(
        store = store.kind(),
        owner = worker.owner(),
        destinations = config.notify.destinations.len(),
        "worker running"
    );
    let dispatcher = tokio::spawn(Arc::new(dispatcher).run(shutdown.clone()));
    worker.run(shutdown).await;
    dispatcher.await.context("the dispatcher panicked")?;
    tracing::info!("stopped");
    Ok(())
}

/// Resolves when the process is asked to stop (Ctrl-C or SIGTERM).
pub async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        use tokio::signal::unix::{SignalKind, signal};
        match signal(SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {}
        _ = term => {}
    }
    tracing::info!("shutting down");
}
