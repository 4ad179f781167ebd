//! A loopback TCP forwarder in front of anvil that a test can take down (the port then refuses
//! connections, and every open connection is cut) and bring back on the same port: an RPC outage.
//! It can also hold every request for a while: a slow provider.

use std::{
    net::SocketAddr,
    sync::{
        Arc,
        atomic::{AtomicU64, Ordering},
    },
    time::Duration,
};

use tokio::{
    io::{AsyncReadExt, AsyncWriteExt},
    net::{TcpListener, TcpStream},
    task::{JoinHandle, JoinSet},
};

/// The forwarder; dropping it takes it down.
pub(crate) struct Proxy {
    addr: SocketAddr,
    target: SocketAddr,
    task: Option<JoinHandle<()>>,
    delay_ms: Arc<AtomicU64>,
}

async fn serve(listener: TcpListener, target: SocketAddr, delay_ms: Arc<AtomicU64>) {
    // Connections live in the set so aborting this task cuts every one of them.
    let mut conns = JoinSet::new();
    loop {
        let Ok((inbound, _)) = listener.accept().await else {
            continue;
        };
        let delay_ms = delay_ms.clone();
        conns.spawn(async move {
            if let Ok(outbound) = TcpStream::connect(target).await {
                let (mut from_client, mut to_client) = inbound.into_split();
                let (mut from_node, mut to_node) = outbound.into_split();
                let up = async move {
                    let mut buf = vec![0u8; 64 * 1024];
                    loop {
                        let n = match from_client.read(&mut buf).await {
                            Ok(0) | Err(_) => break,
                            Ok(n) => n,
                        };
                        let d = delay_ms.load(Ordering::Relaxed);
                        if d > 0 {
                            tokio::time::sleep(Duration::from_millis(d)).await;
                        }
                        if to_node.write_all(&buf[..n]).await.is_err() {
                            break;
                        }
                    }
                };
                let down = tokio::io::copy(&mut from_node, &mut to_client);
                let _ = tokio::join!(up, down);
            }
        });
        while conns.try_join_next().is_some() {}
    }
}

impl Proxy {
    /// Forwards a free loopback port to `target_url` (`http://127.0.0.1:port`).
    pub(crate) async fn start(target_url: &str) -> Self {
        let target: SocketAddr = target_url
            .trim_start_matches("http://")
            .trim_end_matches('/')
            .parse()
            .expect("target is http://ip:port");
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind proxy");
        let addr = listener.local_addr().expect("proxy address");
        let delay_ms = Arc::new(AtomicU64::new(0));
        let task = Some(tokio::spawn(serve(listener, target, delay_ms.clone())));
        Self {
            addr,
            target,
            task,
            delay_ms,
        }
    }

    /// Holds every request this long before forwarding it (0 = none).
    pub(crate) fn set_delay(&self, delay: Duration) {
        self.delay_ms
            .store(delay.as_millis() as u64, Ordering::Relaxed);
    }

    /// The URL clients use.
    pub(crate) fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Outage: stop listening and cut open connections.
    pub(crate) async fn stop(&mut self) {
        if let Some(t) = self.task.take() {
            t.abort();
            let _ = t.await;
        }
    }

    /// End of the outage: listen again on the same port.
    pub(crate) async fn resume(&mut self) {
        let listener = TcpListener::bind(self.addr)
            .await
            .expect("rebind the proxy port");
        self.task = Some(tokio::spawn(serve(
            listener,
            self.target,
            self.delay_ms.clone(),
        )));
    }
}

impl Drop for Proxy {
    fn drop(&mut self) {
        if let Some(t) = self.task.take() {
            t.abort();
        }
    }
}
