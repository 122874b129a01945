//! A plain HTTP/1.1 client over loopback TCP, holding one token per client id.

use std::net::SocketAddr;

use anyhow::{Context, bail};
use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::Request;
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;

use crate::server::CLIENT_SECRET;

#[derive(Clone)]
pub struct FhirClient {
    http: Client<HttpConnector, Full<Bytes>>,
    address: SocketAddr,
    token: String,
}

impl FhirClient {
    pub async fn connect(address: SocketAddr, client_id: &str) -> anyhow::Result<FhirClient> {
        let http = Client::builder(TokioExecutor::new()).pool_max_idle_per_host(64).build_http();
        let form = format!("grant_type=client_credentials&client_id={client_id}&client_secret={CLIENT_SECRET}");
        let request = Request::post(format!("http://{address}/oauth/token"))
            .header("content-type", "application/x-www-form-urlencoded")
            .body(Full::new(Bytes::from(form)))?;
        let response = http.request(request).await?;
        let body = response.into_body().collect().await?.to_bytes();
        let json: serde_json::Value = serde_json::from_slice(&body)?;
        let token = json["access_token"].as_str().context("no token")?.to_string();
        Ok(FhirClient { http, address, token })
    }

    /// A client that sends `token` (a user's, minted by the server under test).
    pub fn with_token(address: SocketAddr, token: String) -> FhirClient {
        let http = Client::builder(TokioExecutor::new()).pool_max_idle_per_host(64).build_http();
        FhirClient { http, address, token }
    }

    /// Sends a request and returns the body; a status other than 200/201 is an error.
    pub async fn send(&self, method: &str, path: &str, body: Option<Bytes>) -> anyhow::Result<Bytes> {
        let request = Request::builder()
            .method(method)
            .uri(format!("http://{}/fhir/{path}", self.address))
            .header("authorization", format!("Bearer {}", self.token))
            .header("content-type", "application/fhir+json")
            .body(Full::new(body.unwrap_or_default()))?;
        let response = self.http.request(request).await?;
        let status = response.status();
        let body = response.into_body().collect().await?.to_bytes();
        if !status.is_success() {
            bail!("{method} {path}: {status}: {}", String::from_utf8_lossy(&body[..body.len().min(500)]));
        }
        Ok(body)
    }
}
