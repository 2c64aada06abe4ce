"""Custom Rasa input channels (they run inside the Rasa process, environment .venv-rasa).

- ``bot.channels.web.WebChatInput``: socket.io for the web widget (bot/web/, source in widget/).
- ``bot.channels.wechat.WeChatInput``: WeChat Official Account.
- ``bot.channels.staff.StaffInput``: staff, authenticated by an order-service token.
- ``bot.channels.rest.ShopperRestInput``: REST for shoppers (tests, integrations).
- ``bot.channels.guard``: the shopper/staff boundary, including the ``StaffIntentGuard`` NLU component.

See docs/channels.md.
"""
