//! Middleware around every request: request id, access log line and metrics.

use std::time::Instant;

use actix_web::body::MessageBody;
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::ConnectionType;
use actix_web::http::header::{HeaderName, HeaderValue};
use actix_web::middleware::Next;
use actix_web::{Error, web};
use tracing::Instrument;

use super::AppState;

const REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");
const MAX_REQUEST_ID_LEN: usize = 128;

/// Keeps a caller's request id when it is short printable ASCII (it ends up in logs); otherwise
/// makes a new one.
fn request_id(request: &ServiceRequest) -> HeaderValue {
    request
        .headers()
        .get(&REQUEST_ID)
        .filter(|value| {
            let bytes = value.as_bytes();
            !bytes.is_empty()
                && bytes.len() <= MAX_REQUEST_ID_LEN
                && bytes.iter().all(|b| b.is_ascii_graphic())
        })
        .cloned()
        .unwrap_or_else(|| {
            HeaderValue::try_from(uuid::Uuid::new_v4().to_string())
                .unwrap_or(HeaderValue::from_static("unknown"))
        })
}

pub async fn observe(
    request: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<impl MessageBody>, Error> {
    let started = Instant::now();
    let id = request_id(&request);
    let method = request.method().to_string();
    let path = request.path().to_owned();
    let state = request.app_data::<web::Data<AppState>>().cloned();
    let span = tracing::info_span!("request", request_id = id.to_str().unwrap_or_default());

    let mut response = next.call(request).instrument(span.clone()).await?;

    let status = response.status();
    // Unmatched paths share one label so that scanners cannot blow up the metric's cardinality.
    let route = response
        .request()
        .match_pattern()
        .unwrap_or_else(|| "unmatched".to_owned());
    let elapsed = started.elapsed();
    if let Some(state) = state {
        state
            .metrics
            .observe_request(&method, &route, status.as_u16(), elapsed.as_secs_f64());
        // Shutting down: the client's next request opens a new connection, which the Service
        // sends to another replica (a kept-alive one would come back here).
        if state.is_shutting_down() {
            response
                .response_mut()
                .head_mut()
                .set_connection_type(ConnectionType::Close);
        }
    }
    let latency_ms = u64::try_from(elapsed.as_millis()).unwrap_or(u64::MAX);
    // Answered requests are counted in the metrics; a line for each costs a quarter of the
    // throughput (measured by bench/api), so it is a debug line. Client errors are worth a line
    // at info, server errors at warn.
    macro_rules! request_line {
        ($level:ident) => {
            tracing::$level!(
                method,
                path,
                route,
                status = status.as_u16(),
                latency_ms,
                "request"
            )
        };
    }
    span.in_scope(|| match status.as_u16() {
        500.. => request_line!(warn),
        400..=499 => request_line!(info),
        _ => request_line!(debug),
    });
    response.headers_mut().insert(REQUEST_ID, id);
    Ok(response)
}
