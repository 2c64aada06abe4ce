"""Channel senders. WeChat: customer-service messages (客服消息) through WeChat's API, with the access
token cached and renewed when WeChat says it expired. The web widget needs no sender: its messages
wait in the outbox for the shopper's next visit (`outreach.outbox.take_inbox`)."""

from __future__ import annotations

import threading
from typing import Any

import httpx

from outreach.outbox import Outgoing, SendFailed

TOKEN_EXPIRED = {40001, 40014, 42001}
# out of the 48-hour window, out of the per-user quota, user refused or unfollowed: retrying cannot help
NOT_ALLOWED = {45015, 45047, 43004, 43019, 40003}


class WeChatSender:
    def __init__(self, api_base: str, app_id: str, app_secret: str, timeout_s: float = 5.0) -> None:
        if not (app_id and app_secret):
            raise ValueError("WeChat outreach needs WECHAT_APP_ID and WECHAT_APP_SECRET")
        self._client = httpx.Client(base_url=api_base.rstrip("/"), timeout=timeout_s)
        self._app_id, self._secret = app_id, app_secret
        self._token: str | None = None
        self._lock = threading.Lock()

    def close(self) -> None:
        self._client.close()

    def _access_token(self, refresh: bool = False) -> str:
        with self._lock:
            if self._token is None or refresh:
                data = self._call(
                    "GET",
                    "/cgi-bin/token",
                    params={"grant_type": "client_credential", "appid": self._app_id, "secret": self._secret},
                )
                if "access_token" not in data:
                    raise SendFailed(
                        f"access token refused: {data.get('errcode')} {data.get('errmsg')}", retry=True
                    )
                self._token = str(data["access_token"])
            return self._token

    def _call(self, method: str, path: str, **kwargs: Any) -> dict[str, Any]:
        try:
            response = self._client.request(method, path, **kwargs)
        except httpx.HTTPError as exc:
            raise SendFailed(f"WeChat unreachable: {exc.__class__.__name__}", retry=True) from exc
        if response.status_code >= 500:
            raise SendFailed(f"WeChat answered {response.status_code}", retry=True)
        data: dict[str, Any] = response.json()
        return data

    @staticmethod
    def body(openid: str, content: Outgoing) -> dict[str, Any]:
        """A text message, or a menu message (msgmenu) whose items send their payload back when tapped."""
        if not content.buttons:
            return {"touser": openid, "msgtype": "text", "text": {"content": content.text}}
        return {
            "touser": openid,
            "msgtype": "msgmenu",
            "msgmenu": {
                "head_content": content.text,
                "list": [{"id": payload, "content": title} for title, payload in content.buttons],
                "tail_content": "",
            },
        }

    def send(self, address: str, content: Outgoing) -> None:
        payload = self.body(address, content)
        for refresh in (False, True):
            data = self._call(
                "POST",
                "/cgi-bin/message/custom/send",
                params={"access_token": self._access_token(refresh)},
                json=payload,
            )
            code = int(data.get("errcode", 0))
            if code == 0:
                return
            if code in TOKEN_EXPIRED and not refresh:
                continue
            raise SendFailed(f"wechat {code} {data.get('errmsg', '')}", retry=code not in NOT_ALLOWED)
        raise SendFailed("wechat token refused twice", retry=True)
