//! Sending an order to MEXC: the hand-built `order/submit` body and the status read after the
//! acknowledgement.

use super::*;

impl MexcVenue {
    /// Status of an order just acknowledged: the pushed fill if the stream has it within the
    /// wait, else a query by `externalOid`.
    pub(super) async fn status_after_ack(
        &self,
        order: &OrderRequest,
    ) -> Result<OrderStatus, VenueError> {
        let id = order.client_order_id.as_str();
        let market = matches!(order.kind, OrderKind::Market);
        if self.stream_ready()
            && let Some(s) = self
                .tracker
                .wait_for(id, self.fill_wait, |s| !market || s.state.is_terminal())
                .await
        {
            return Ok(s);
        }
        match self
            .order_by_client_id(&order.symbol, &order.client_order_id)
            .await?
        {
            Some(s) => Ok(s),
            None => Err(VenueError::new(
                VENUE,
                VenueErrorKind::Ambiguous,
                format!("order {id} was acknowledged but is not visible yet"),
            )
            .with_code("not_visible")),
        }
    }

    /// The JSON body of `order/submit`, built by hand so decimals are written exactly (MEXC
    /// takes numbers, and `serde_json` would go through `f64`).
    pub(super) fn submit_body(
        &self,
        order: &OrderRequest,
        instrument: &Instrument,
        vol: Decimal,
    ) -> String {
        let code = SideCode::for_order(order.side, order.reduce_only);
        let setting = self.setting(&order.symbol);
        // Without a setting made in this process (after a restart), an order adding to a
        // position carries the position's own mode and leverage, as MEXC requires.
        let held = lock(&self.snapshot).held.get(&order.symbol).copied();
        let mode = setting
            .mode
            .or(held.map(|h| h.mode))
            .unwrap_or(MarginMode::Cross);
        let leverage = setting.leverage.or(held.map(|h| h.leverage));
        let mut body = format!(
            "{{\"symbol\":{},\"vol\":{},\"side\":{}",
            json_str(&instrument.venue_symbol),
            format_dec(vol),
            code.code()
        );
        match order.kind {
            // Type 5: market. (2 would be post-only.) MEXC's documentation of
            // `POST /api/v1/private/order/submit` lists 5 as "market orders" and 6 as "convert
            // market price to current price"
            // (<https://mexcdevelop.github.io/apidocs/contract_v1_en/>, section "Order").
            // CCXT's `mexc` posts an undocumented `/api/v1/private/order/create` with type 6
            // instead; with the evidence mixed we keep the documented endpoint and type, and the
            // simulator accepts exactly these.
            OrderKind::Market => body.push_str(",\"type\":5"),
            // Type 1: limit, good till cancelled.
            OrderKind::Limit { price } => {
                body.push_str(&format!(
                    ",\"price\":{},\"type\":1",
                    format_dec(price.get())
                ));
            }
        }
        body.push_str(&format!(",\"openType\":{}", open_type(mode)));
        if let (false, Some(lev)) = (code.reduces(), leverage) {
            body.push_str(&format!(",\"leverage\":{}", format_dec(lev)));
        }
        body.push_str(&format!(
            ",\"externalOid\":{}}}",
            json_str(order.client_order_id.as_str())
        ));
        body
    }
}
