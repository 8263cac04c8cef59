"""The market's read RPCs of the public API (issue 17): ListOrders, GetOrder, ListTrades and
ListTradePrices. A mixin of ``node.service_public.LedgerServicer``: thin like the rest (decode,
one call into ``chain.market_view``, encode). Id filters are checked as every RPC checks ids
(``api_codec.require_id``: at most 128 characters, or the chain's larger ``max_id_bytes``;
``field_too_long``)."""

from __future__ import annotations

import grpc

from carbon_ticket.chain.check_fields import require_period
from carbon_ticket.chain.market_records import Order, Trade
from carbon_ticket.chain.market_view import list_orders, list_trade_prices, list_trades
from carbon_ticket.chain.records import Period
from carbon_ticket.chain.rules.market import get_order
from carbon_ticket.chain.store import StoreView
from carbon_ticket.node.api_codec import (
    decode_address,
    decode_sequence_page,
    period_to_proto,
    require_id,
    require_number,
)
from carbon_ticket.node.errors import unary_errors as errors
from carbon_ticket.proto import services_pb2

__all__ = ["MarketApi", "order_to_proto", "trade_price_to_proto", "trade_to_proto"]


def order_to_proto(o: Order) -> services_pb2.OrderInfo:
    """A sell order with its escrow split (remaining, pending, sold) and status."""
    return services_pb2.OrderInfo(
        order_id=o.order_id,
        seller=o.seller,
        batch_id=o.batch_id,
        project_id=o.project_id,
        vintage=period_to_proto(o.vintage),
        price_fen=o.price_fen,
        amount_grams=o.amount_grams,
        remaining_grams=o.remaining,
        pending_grams=o.pending,
        sold_grams=o.sold,
        min_lot_grams=o.min_lot_grams,
        expires_height=o.expires_height,
        retire_on_purchase=bool(o.retire_on_purchase),
        status=o.status,
        height=o.height,
        time_ms=o.time_ms,
        closed_height=o.closed_height,
        tx_hash=o.tx_hash,
    )


def trade_to_proto(t: Trade) -> services_pb2.TradeInfo:
    """A trade with its price, total, status and (retiring trades) claim and certificate."""
    return services_pb2.TradeInfo(
        trade_id=t.trade_id,
        order_id=t.order_id,
        seller=t.seller,
        buyer=t.buyer,
        batch_id=t.batch_id,
        project_id=t.project_id,
        vintage=period_to_proto(t.vintage),
        amount_grams=t.amount_grams,
        price_fen=t.price_fen,
        total_fen=t.total_fen,
        status=t.status,
        timeout_height=t.timeout_height,
        retire=bool(t.retire),
        beneficiary=t.beneficiary,
        reason=t.reason,
        jurisdiction=t.jurisdiction,
        event=t.event,
        certificate_id=t.certificate_id,
        confirmed_by=t.confirmed_by,
        height=t.height,
        time_ms=t.time_ms,
        closed_height=t.closed_height,
        closed_time_ms=t.closed_time_ms,
        tx_hash=t.tx_hash,
    )


def trade_price_to_proto(t: Trade) -> services_pb2.TradePrice:
    """One entry of the price history: a settled trade's price and size, when it settled."""
    return services_pb2.TradePrice(
        trade_id=t.trade_id,
        batch_id=t.batch_id,
        vintage=period_to_proto(t.vintage),
        price_fen=t.price_fen,
        amount_grams=t.amount_grams,
        total_fen=t.total_fen,
        height=t.closed_height,
        time_ms=t.closed_time_ms,
    )


def _token(before: int | None) -> str:
    return "" if before is None else str(before)


class MarketApi:
    """The market RPCs; the servicer provides ``_store``, the committed block store."""

    _store: StoreView

    @errors
    async def ListOrders(
        self, request: services_pb2.ListOrdersRequest, context: grpc.aio.ServicerContext
    ) -> services_pb2.OrderPage:
        size, before = decode_sequence_page(request.page_size, request.page_token)
        seller = decode_address(request.seller, "seller") if request.seller else ""
        batch_id = require_id(request.batch_id, "batch_id", self._store) if request.batch_id else ""
        found = list_orders(self._store, seller, batch_id, request.status, size, before)
        return services_pb2.OrderPage(
            items=[order_to_proto(o) for o in found.items],
            next_page_token=_token(found.next_before),
            height=self._store.height,
        )

    @errors
    async def GetOrder(
        self, request: services_pb2.GetOrderRequest, context: grpc.aio.ServicerContext
    ) -> services_pb2.OrderInfo:
        return order_to_proto(get_order(self._store, require_number(request.order_id, "order_id")))

    @errors
    async def ListTrades(
        self, request: services_pb2.ListTradesRequest, context: grpc.aio.ServicerContext
    ) -> services_pb2.TradePage:
        size, before = decode_sequence_page(request.page_size, request.page_token)
        account = decode_address(request.account, "account") if request.account else ""
        found = list_trades(self._store, request.order_id, account, request.status, size, before)
        return services_pb2.TradePage(
            items=[trade_to_proto(t) for t in found.items],
            next_page_token=_token(found.next_before),
            height=self._store.height,
        )

    @errors
    async def ListTradePrices(
        self, request: services_pb2.ListTradePricesRequest, context: grpc.aio.ServicerContext
    ) -> services_pb2.TradePricePage:
        size, before = decode_sequence_page(request.page_size, request.page_token)
        project_id = require_id(request.project_id, "project_id", self._store)
        vintage = None
        if request.HasField("vintage"):
            # Checked as a batch's vintage is: days that are no calendar day never match.
            require_period(request.vintage, "vintage")
            vintage = Period(request.vintage.start_date, request.vintage.end_date)
        found = list_trade_prices(self._store, project_id, vintage, size, before)
        return services_pb2.TradePricePage(
            items=[trade_price_to_proto(t) for t in found.items],
            next_page_token=_token(found.next_before),
            height=self._store.height,
        )
