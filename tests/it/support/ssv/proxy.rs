//! A loopback TCP forwarder in front of anvil that a test can take down (the port then refuses
//! connections, and every open connection is cut) and bring back on the same port: an RPC outage.

use std::net::SocketAddr;

use tokio::{
    net::{TcpListener, TcpStream},
    task::{JoinHandle, JoinSet},
};

/// The forwarder; dropping it takes it down.
pub struct Proxy {
    addr: SocketAddr,
    target: SocketAddr,
    task: Option<JoinHandle<()>>,
}

async fn serve(listener: TcpListener, target: SocketAddr) {
    // Connections live in the set so aborting this task cuts every one of them.
    let mut conns = JoinSet::new();
    loop {
        let Ok((mut inbound, _)) = listener.accept().await else {
            continue;
        };
        conns.spawn(async move {
            if let Ok(mut outbound) = TcpStream::connect(target).await {
                let _ = tokio::io::copy_bidirectional(&mut inbound, &mut outbound).await;
            }
        });
        while conns.try_join_next().is_some() {}
    }
}

impl Proxy {
    /// Forwards a free loopback port to `target_url` (`http://127.0.0.1:port`).
    pub async fn start(target_url: &str) -> Self {
        let target: SocketAddr = target_url
            .trim_start_matches("http://")
            .trim_end_matches('/')
            .parse()
            .expect("target is http://ip:port");
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind proxy");
        let addr = listener.local_addr().expect("proxy address");
        let task = Some(tokio::spawn(serve(listener, target)));
        Self { addr, target, task }
    }

    /// The URL clients use.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Outage: stop listening and cut open connections.
    pub async fn stop(&mut self) {
        if let Some(t) = self.task.take() {
            t.abort();
            let _ = t.await;
        }
    }

    /// End of the outage: listen again on the same port.
    pub async fn resume(&mut self) {
        let listener = TcpListener::bind(self.addr)
            .await
            .expect("rebind the proxy port");
        self.task = Some(tokio::spawn(serve(listener, self.target)));
    }
}

impl Drop for Proxy {
    fn drop(&mut self) {
        if let Some(t) = self.task.take() {
            t.abort();
        }
    }
}
