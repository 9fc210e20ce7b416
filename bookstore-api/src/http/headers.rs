//! Security headers on every response, the API's JSON included: no sniffing, no referrer, no
//! framing, nothing active in a JSON answer, and a cache policy by route (the page's files set
//! their own, with their content security policy).

use actix_web::Error;
use actix_web::body::MessageBody;
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::header::{
    CACHE_CONTROL, CONTENT_SECURITY_POLICY, HeaderValue, REFERRER_POLICY, X_CONTENT_TYPE_OPTIONS,
    X_FRAME_OPTIONS,
};
use actix_web::middleware::Next;

pub async fn security_headers(
    request: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<impl MessageBody>, Error> {
    let mut response = next.call(request).await?;
    let headers = response.headers_mut();
    let mut default = |name, value: &'static str| {
        if !headers.contains_key(&name) {
            headers.insert(name, HeaderValue::from_static(value));
        }
    };
    default(X_CONTENT_TYPE_OPTIONS, "nosniff");
    default(REFERRER_POLICY, "no-referrer");
    default(X_FRAME_OPTIONS, "DENY");
    // Answers the page did not set: JSON, errors, health and metrics. Always current (books change
    // under the same URL), never an active document.
    default(CACHE_CONTROL, "no-store");
    default(
        CONTENT_SECURITY_POLICY,
        "default-src 'none'; frame-ancestors 'none'",
    );
    Ok(response)
}
