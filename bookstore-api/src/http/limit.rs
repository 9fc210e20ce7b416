//! Rate limits per client address (governor's GCRA limiter, keyed by address): one for writes,
//! a looser one for reads of /api/. Health, readiness and metrics are never limited. Behind a
//! load balancer the client is named by X-Forwarded-For, trusted only from listed proxies.

use std::net::IpAddr;
use std::num::NonZeroU32;
use std::time::Duration;

use actix_web::ResponseError;
use actix_web::body::{EitherBody, MessageBody};
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::Method;
use actix_web::middleware::Next;
use actix_web::{Error, web};
use governor::clock::{Clock, DefaultClock};
use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};

use super::{ApiError, AppState};
use crate::config::{Cidr, RateLimits};

pub struct Limiters {
    writes: Option<DefaultKeyedRateLimiter<IpAddr>>,
    reads: Option<DefaultKeyedRateLimiter<IpAddr>>,
    trusted_proxies: Vec<Cidr>,
}

impl Limiters {
    pub fn new(limits: &RateLimits) -> Self {
        // n per minute, with a burst of n: a client may spend its minute at once.
        let limiter = |per_minute: Option<NonZeroU32>| {
            per_minute.map(|n| RateLimiter::keyed(Quota::per_minute(n)))
        };
        Self {
            writes: limiter(limits.writes_per_minute),
            reads: limiter(limits.reads_per_minute),
            trusted_proxies: limits.trusted_proxies.clone(),
        }
    }

    /// Forgets clients that have been quiet long enough to be back at full allowance.
    pub fn forget_quiet_clients(&self) {
        for limiter in [&self.writes, &self.reads].into_iter().flatten() {
            limiter.retain_recent();
        }
    }

    /// The client: the connecting address, or, when that is a trusted proxy, the last address of
    /// X-Forwarded-For that is not one (the proxies append; only they are believed).
    fn client(&self, request: &ServiceRequest) -> Option<IpAddr> {
        let peer = request.peer_addr()?.ip();
        let trusted = |ip: IpAddr| self.trusted_proxies.iter().any(|cidr| cidr.contains(ip));
        if !trusted(peer) {
            return Some(peer);
        }
        let forwarded = request
            .headers()
            .get_all("x-forwarded-for")
            .filter_map(|value| value.to_str().ok())
            .flat_map(|value| value.split(','))
            .filter_map(|entry| entry.trim().parse::<IpAddr>().ok())
            .collect::<Vec<_>>();
        Some(
            forwarded
                .into_iter()
                .rev()
                .find(|ip| !trusted(*ip))
                .unwrap_or(peer),
        )
    }

    /// `Err(wait)` when the client must wait before this request.
    fn check(&self, request: &ServiceRequest) -> Result<(), Duration> {
        let limiter = match *request.method() {
            Method::POST | Method::PUT | Method::PATCH | Method::DELETE => &self.writes,
            _ if request.path().starts_with("/api/") => &self.reads,
            _ => &None,
        };
        let (Some(limiter), Some(client)) = (limiter, self.client(request)) else {
            return Ok(());
        };
        limiter
            .check_key(&client)
            .map_err(|not_until| not_until.wait_time_from(DefaultClock::default().now()))
    }
}

/// Answers 429 with `Retry-After` (an answer, not an error: the outer middleware still logs,
/// counts and decorates it).
pub async fn rate_limit<B: MessageBody + 'static>(
    request: ServiceRequest,
    next: Next<B>,
) -> Result<ServiceResponse<EitherBody<B>>, Error> {
    if let Some(state) = request.app_data::<web::Data<AppState>>()
        && let Err(wait) = state.limiters.check(&request)
    {
        // Whole seconds, rounded up: retrying earlier would be refused again.
        let retry_after = wait.as_secs() + u64::from(wait.subsec_nanos() > 0);
        let answer = ApiError::RateLimited {
            retry_after: retry_after.max(1),
        }
        .error_response();
        return Ok(request.into_response(answer).map_into_right_body());
    }
    next.call(request)
        .await
        .map(ServiceResponse::map_into_left_body)
}

#[cfg(test)]
mod tests {
    use actix_web::test::TestRequest;

    use super::*;

    fn limiters(proxies: &[&str]) -> Limiters {
        Limiters::new(&RateLimits {
            writes_per_minute: NonZeroU32::new(2),
            reads_per_minute: None,
            trusted_proxies: proxies.iter().map(|p| p.parse().expect("cidr")).collect(),
        })
    }

    fn from(peer: &str, forwarded: Option<&str>) -> ServiceRequest {
        let mut request = TestRequest::post()
            .uri("/api/v1/books")
            .peer_addr(format!("{peer}:40000").parse().expect("address"));
        if let Some(forwarded) = forwarded {
            request = request.insert_header(("x-forwarded-for", forwarded));
        }
        request.to_srv_request()
    }

    #[test]
    fn forwarded_addresses_count_only_from_trusted_proxies() {
        let ip = |text: &str| Some(text.parse::<IpAddr>().expect("ip"));
        let direct = limiters(&[]);
        assert_eq!(
            direct.client(&from("203.0.113.9", Some("198.51.100.1"))),
            ip("203.0.113.9"),
            "not trusted: ignored"
        );
        let behind = limiters(&["10.0.0.0/16"]);
        assert_eq!(
            behind.client(&from("10.0.3.4", Some("198.51.100.1"))),
            ip("198.51.100.1")
        );
        assert_eq!(
            behind.client(&from(
                "10.0.3.4",
                Some("192.0.2.66, 198.51.100.1, 10.0.1.1")
            )),
            ip("198.51.100.1"),
            "the last address a trusted proxy saw; what the client wrote before it is not believed"
        );
        assert_eq!(behind.client(&from("10.0.3.4", None)), ip("10.0.3.4"));
    }

    #[test]
    fn each_client_has_its_own_allowance() {
        let limits = limiters(&[]);
        assert!(limits.check(&from("192.0.2.1", None)).is_ok());
        assert!(limits.check(&from("192.0.2.1", None)).is_ok());
        let wait = limits
            .check(&from("192.0.2.1", None))
            .expect_err("third write in a minute");
        assert!(
            wait > Duration::ZERO && wait <= Duration::from_secs(30),
            "{wait:?}"
        );
        assert!(
            limits.check(&from("192.0.2.2", None)).is_ok(),
            "another client"
        );
        let read = TestRequest::get()
            .uri("/api/v1/books")
            .peer_addr("192.0.2.1:1".parse().expect("a"))
            .to_srv_request();
        assert!(limits.check(&read).is_ok(), "reads are not limited here");
    }
}
