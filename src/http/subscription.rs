//! GraphQL subscriptions over WebSocket (`/graphql/ws`, graphql-transport-ws or graphql-ws).
//! A browser cannot set headers on a WebSocket, so the token comes in the `connection_init`
//! payload as `{"Authorization": "Bearer …"}`; a bad token closes the connection.
//!
//! When the server stops (`http::shutdown`), each connection stops reading, sends its client a
//! close frame (1001, going away) and ends; the server waits for that before it exits.

use async_graphql::Data;
use async_graphql::http::ALL_WEBSOCKET_PROTOCOLS;
use async_graphql_poem::{GraphQLProtocol, GraphQLWebSocket};
use futures_util::{SinkExt as _, StreamExt as _};
use poem::web::Data as PoemData;
use poem::web::websocket::{CloseCode, Message, WebSocket};
use poem::{IntoResponse, handler};

use super::AppState;
use super::rest::caller_of;

#[handler]
pub fn subscribe(
    state: PoemData<&AppState>,
    protocol: GraphQLProtocol,
    websocket: WebSocket,
) -> impl IntoResponse {
    let state = state.0.clone();
    let schema = state.schemas.ws.clone();
    websocket
        .protocols(ALL_WEBSOCKET_PROTOCOLS)
        .on_upgrade(move |socket| async move {
            let _open = (
                state.metrics.subscription_opened(),
                state.shutdown.socket_opened(),
            );
            let shutdown = state.shutdown.clone();
            let (mut sink, stream) = socket.split();
            GraphQLWebSocket::new_with_pair(
                &mut sink,
                stream.take_until(shutdown.stopping()),
                schema,
                protocol,
            )
            .on_connection_init(move |payload| async move {
                let authorization = payload
                    .get("Authorization")
                    .or_else(|| payload.get("authorization"))
                    .and_then(|v| v.as_str())
                    .map(str::to_owned);
                let caller = caller_of(authorization.as_deref(), &state)
                    .await
                    .map_err(|e| async_graphql::Error::new(e.description))?;
                let mut data = Data::default();
                data.insert(caller);
                Ok(data)
            })
            .serve()
            .await;
            if shutdown.is_stopping() {
                // The client may be gone already: nothing more to tell it then.
                let close = Message::close_with(CloseCode::Away, "the server is stopping");
                let _ = sink.send(close).await;
                let _ = sink.close().await;
            }
        })
}
