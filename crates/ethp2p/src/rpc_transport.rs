//! Subscriptions over plain HTTP: refused with an error that says to use
//! WebSocket, instead of jsonrpsee's bare "Internal error".
//!
//! Two layers cooperate. [`MarkPlainHttpLayer`] is an HTTP middleware: it
//! tags every request that is not a WebSocket upgrade with [`PlainHttp`].
//! jsonrpsee copies the HTTP request's extensions into each JSON-RPC call
//! it carries, where [`SubscriptionsNeedWsLayer`], an RPC middleware, finds
//! the tag and answers the subscription methods itself. Calls on a
//! WebSocket connection carry no tag and pass through.
//!
//! A subscription inside an HTTP *batch* is not intercepted (jsonrpsee runs
//! batch entries below the RPC middleware) and still gets "Internal error".

use futures::future::Either;
use jsonrpsee::{
    server::{
        middleware::rpc::{Batch, Notification, Request, RpcServiceT},
        HttpRequest, MethodResponse,
    },
    types::ErrorObject,
};
use std::task::{Context, Poll};

/// geth's code for notifications asked over a transport without them.
pub(crate) const NOTIFICATIONS_UNSUPPORTED: i32 = -32601;

/// Extension on requests that came over plain HTTP.
#[derive(Clone, Copy, Debug)]
pub(crate) struct PlainHttp;

/// Whether `method` opens or closes a subscription (the node's own:
/// `*_subscribe`, `*_unsubscribe`, `admin_peerEvents`,
/// `admin_unsubscribePeerEvents`).
pub(crate) fn is_subscription_method(method: &str) -> bool {
    method.ends_with("_subscribe")
        || method.ends_with("_unsubscribe")
        || method == "admin_peerEvents"
        || method == "admin_unsubscribePeerEvents"
}

/// HTTP middleware: tags non-upgrade requests with [`PlainHttp`].
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct MarkPlainHttpLayer;

impl<S> tower::Layer<S> for MarkPlainHttpLayer {
    type Service = MarkPlainHttp<S>;
    fn layer(&self, inner: S) -> Self::Service {
        MarkPlainHttp(inner)
    }
}

/// The service of [`MarkPlainHttpLayer`].
#[derive(Clone, Debug)]
pub(crate) struct MarkPlainHttp<S>(S);

impl<S, B> tower::Service<HttpRequest<B>> for MarkPlainHttp<S>
where
    S: tower::Service<HttpRequest<B>>,
{
    type Response = S::Response;
    type Error = S::Error;
    type Future = S::Future;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.0.poll_ready(cx)
    }

    fn call(&mut self, mut req: HttpRequest<B>) -> Self::Future {
        if !jsonrpsee::server::ws::is_upgrade_request(&req) {
            req.extensions_mut().insert(PlainHttp);
        }
        self.0.call(req)
    }
}

/// RPC middleware: answers subscription methods on plain HTTP with an error
/// naming WebSocket.
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct SubscriptionsNeedWsLayer;

impl<S> tower::Layer<S> for SubscriptionsNeedWsLayer {
    type Service = SubscriptionsNeedWs<S>;
    fn layer(&self, inner: S) -> Self::Service {
        SubscriptionsNeedWs(inner)
    }
}

/// The service of [`SubscriptionsNeedWsLayer`].
#[derive(Clone, Debug)]
pub(crate) struct SubscriptionsNeedWs<S>(S);

impl<S> RpcServiceT for SubscriptionsNeedWs<S>
where
    S: RpcServiceT<
            MethodResponse = MethodResponse,
            BatchResponse = MethodResponse,
            NotificationResponse = MethodResponse,
        > + Send
        + Sync,
{
    type MethodResponse = MethodResponse;
    type BatchResponse = MethodResponse;
    type NotificationResponse = MethodResponse;

    fn call<'a>(
        &self,
        req: Request<'a>,
    ) -> impl std::future::Future<Output = Self::MethodResponse> + Send + 'a {
        if req.extensions().get::<PlainHttp>().is_some() && is_subscription_method(&req.method) {
            let error = ErrorObject::owned(
                NOTIFICATIONS_UNSUPPORTED,
                format!(
                    "subscriptions need WebSocket: {} is not available over HTTP; connect to ws:// on the same address",
                    req.method
                ),
                None::<()>,
            );
            Either::Left(std::future::ready(MethodResponse::error(req.id, error)))
        } else {
            Either::Right(self.0.call(req))
        }
    }

    fn batch<'a>(
        &self,
        requests: Batch<'a>,
    ) -> impl std::future::Future<Output = Self::BatchResponse> + Send + 'a {
        self.0.batch(requests)
    }

    fn notification<'a>(
        &self,
        n: Notification<'a>,
    ) -> impl std::future::Future<Output = Self::NotificationResponse> + Send + 'a {
        self.0.notification(n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn subscription_methods_are_told_apart() {
        for m in [
            "admin_subscribe",
            "admin_unsubscribe",
            "admin_peerEvents",
            "admin_unsubscribePeerEvents",
            "eth_subscribe",
            "eth_unsubscribe",
            "ethp2p_subscribe",
        ] {
            assert!(is_subscription_method(m), "{m}");
        }
        for m in [
            "admin_peers",
            "eth_sendRawTransaction",
            "net_version",
            "subscribe",
        ] {
            assert!(!is_subscription_method(m), "{m}");
        }
    }
}
