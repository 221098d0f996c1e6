//! GraphQL subscriptions over WebSocket (`/graphql/ws`, graphql-transport-ws or graphql-ws).
//! A browser cannot set headers on a WebSocket, so the token comes in the `connection_init`
//! payload as `{"Authorization": "Bearer …"}`; a bad token closes the connection.

use async_graphql::Data;
use async_graphql::http::ALL_WEBSOCKET_PROTOCOLS;
use async_graphql_poem::{GraphQLProtocol, GraphQLWebSocket};
use poem::web::Data as PoemData;
use poem::web::websocket::WebSocket;
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
        .on_upgrade(move |stream| {
            GraphQLWebSocket::new(stream, schema, protocol)
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
        })
}
