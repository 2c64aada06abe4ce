"""Outreach: messages the shop sends without being asked (issue 19, docs/outreach.md).

Post-sale messages on order status changes, back-in-stock alerts and managers' campaigns, to the
shopper's channel (WeChat customer-service messages, or the web widget on the next visit), in their
language, with consent, quiet hours and frequency caps. The order service's database holds the
state: consent, the message outbox (one row per message, a unique send key per fact), cursors over
the append-only order events and stock ledger, subscriptions and campaigns. A worker driven by
APScheduler (`daogou campaign worker`) reads the cursors, launches due campaigns and drains the
outbox with retries and a dead-letter list.

Typed interface:
- `outreach.outbox`: `enqueue`, `drain`, `dead_letters`, `recover_interrupted`, `render`
- `outreach.triggers`: `scan_order_events`, `scan_stock_receipts`, `subscribe_back_in_stock`
- `outreach.campaigns`: `create_campaign`, `launch_campaign`, `campaign_result`
- `outreach.consent`: `set_consent`, `opt_out_everywhere`
- `outreach.worker`: `OutreachWorker` (the scheduler) and `tick`
"""
