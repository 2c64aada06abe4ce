"""Managers' campaigns: whom to target (RFM segment, CLV band, category bought, distance to a store),
the offer, a random holdout, the launch (members and messages in one transaction), and the result
measured from the assistant's event record: conversion and revenue of the treated group against the
holdout, with Welch confidence intervals from scipy."""

from __future__ import annotations

import hashlib
import math
from dataclasses import asdict, dataclass
from datetime import datetime, timedelta
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats
from sqlalchemy import select
from sqlalchemy.orm import Session

from order_service.models import (
    AssistantEvent,
    Campaign,
    CampaignMember,
    CustomerIdentity,
    Location,
    Order,
    OutreachConsent,
    OutreachMessage,
    Product,
)
from order_service.services.geo import haversine_km
from outreach.outbox import message_row
from recommender.analytics import customer_lifetime_value, rfm
from recommender.sources import order_lines_from_database

TARGET_KEYS = {"segment", "clv_min", "clv_max", "category", "store_id", "within_km"}


def create_campaign(
    session: Session,
    *,
    name: str,
    target: dict[str, Any],
    offer: dict[str, Any],
    channel: str,
    scheduled_at: datetime,
    now: datetime,
    holdout_share: float = 0.1,
    max_per_week: int = 1,
    seed: int = 0,
    created_by: str = "",
) -> Campaign:
    unknown = set(target) - TARGET_KEYS
    if unknown:
        raise ValueError(f"unknown target keys: {sorted(unknown)} (known: {sorted(TARGET_KEYS)})")
    if ("store_id" in target) != ("within_km" in target):
        raise ValueError("a distance target needs both store_id and within_km")
    if not offer.get("code"):
        raise ValueError("the offer needs a discount code")
    campaign = Campaign(
        name=name,
        target=target,
        offer=offer,
        channel=channel,
        scheduled_at=scheduled_at,
        holdout_share=holdout_share,
        max_per_week=max_per_week,
        seed=seed,
        status="scheduled",
        created_by=created_by,
        created_at=now,
    )
    session.add(campaign)
    session.flush()
    return campaign


def _url(session: Session) -> str:
    return session.get_bind().engine.url.render_as_string(hide_password=False)


def _home_distance_km(session: Session, store_id: int) -> dict[str, float]:
    """Per customer, the distance from the store they order from most to the target store."""
    target = session.get(Location, store_id)
    if target is None or target.lat is None or target.lon is None:
        raise ValueError(f"store {store_id} has no coordinates")
    rows = session.execute(
        select(Order.customer_id, Order.location_id).where(Order.status != "cancelled")
    ).all()
    homes = (
        pd.DataFrame(rows, columns=["customer_id", "location_id"])
        .groupby("customer_id")["location_id"]
        .agg(lambda s: s.value_counts().index[0])
    )
    coords = {
        loc.id: (loc.lat, loc.lon)
        for loc in session.scalars(select(Location).where(Location.id.in_(set(homes.tolist()))))
        if loc.lat is not None and loc.lon is not None
    }
    return {
        customer: haversine_km(target.lat, target.lon, *coords[loc])
        for customer, loc in homes.items()
        if loc in coords
    }


def select_targets(session: Session, target: dict[str, Any], channel: str) -> list[str]:
    """Customers matching every criterion who opted in to the channel and can be reached on it."""
    eligible = set(
        session.scalars(
            select(OutreachConsent.customer_id)
            .join(
                CustomerIdentity,
                (CustomerIdentity.customer_id == OutreachConsent.customer_id)
                & (CustomerIdentity.channel == OutreachConsent.channel),
            )
            .where(OutreachConsent.channel == channel, OutreachConsent.opted_in.is_(True))
        )
    )
    if {"segment", "clv_min", "clv_max", "category"} & set(target):
        lines = order_lines_from_database(_url(session))
        if "segment" in target:
            segments = {target["segment"]} if isinstance(target["segment"], str) else set(target["segment"])
            table = rfm(lines)
            eligible &= set(table.index[table["segment"].isin(segments)])
        if "clv_min" in target or "clv_max" in target:
            clv = customer_lifetime_value(lines)[0]["clv"]
            low, high = float(target.get("clv_min", -math.inf)), float(target.get("clv_max", math.inf))
            eligible &= set(clv.index[(clv >= low) & (clv < high)])
        if "category" in target:
            wanted = str(target["category"])
            skus = set(
                session.scalars(
                    select(Product.sku).where((Product.category_id == wanted) | (Product.part_type == wanted))
                )
            )
            eligible &= set(lines.loc[lines["sku"].isin(skus), "customer_id"])
    if "store_id" in target:
        distance = _home_distance_km(session, int(target["store_id"]))
        eligible &= {c for c, km in distance.items() if km <= float(target["within_km"])}
    return sorted(eligible)


def arm_of(campaign_id: int, seed: int, customer_id: str, holdout_share: float) -> str:
    """Deterministic random assignment: the same campaign and customer always get the same arm."""
    digest = hashlib.sha256(f"{campaign_id}:{seed}:{customer_id}".encode()).digest()
    return "holdout" if int.from_bytes(digest[:8], "big") / 2**64 < holdout_share else "treated"


def _offer_params(campaign: Campaign, language: str) -> dict[str, Any]:
    offer = campaign.offer
    headline = offer.get(f"headline_{language}") or offer.get("headline") or campaign.name
    return {
        "headline": headline,
        "code": offer["code"],
        "percent_off": offer.get("percent_off", 0),
        "valid_until": offer.get("valid_until", ""),
        "max_per_week": campaign.max_per_week,
    }


def _languages(session: Session) -> dict[str, str]:
    """Each customer's language: that of their latest assistant event."""
    rows = session.execute(
        select(AssistantEvent.customer_id, AssistantEvent.language)
        .where(AssistantEvent.customer_id.is_not(None))
        .order_by(AssistantEvent.id)
    )
    return {customer: language for customer, language in rows if customer is not None}


def launch_campaign(session: Session, campaign_id: int, now: datetime) -> dict[str, int]:
    """Assign arms and enqueue the treated group's messages, all in one transaction. Launching again
    (after a crash, or twice by mistake) adds nothing: members and send keys are unique, and a launch
    racing another one fails on the unique send key and rolls back whole."""
    campaign = session.get(Campaign, campaign_id)
    if campaign is None:
        raise LookupError(f"no campaign {campaign_id}")
    targets = select_targets(session, campaign.target, campaign.channel)
    known = set(
        session.scalars(select(CampaignMember.customer_id).where(CampaignMember.campaign_id == campaign_id))
    )
    queued = set(
        session.scalars(select(OutreachMessage.send_key).where(OutreachMessage.campaign_id == campaign_id))
    )
    addresses = dict(
        session.execute(
            select(CustomerIdentity.customer_id, CustomerIdentity.external_id).where(
                CustomerIdentity.channel == campaign.channel
            )
        ).all()
    )
    languages = _languages(session)
    counts = {"treated": 0, "holdout": 0, "messages": 0}
    for customer in targets:
        arm = arm_of(campaign.id, campaign.seed, customer, campaign.holdout_share)
        counts[arm] += 1
        if customer not in known:
            session.add(
                CampaignMember(campaign_id=campaign.id, customer_id=customer, arm=arm, assigned_at=now)
            )
        key = f"campaign:{campaign.id}:{customer}"
        if arm == "treated" and key not in queued:
            language = languages.get(customer, "en")
            session.add(
                message_row(
                    send_key=key,
                    kind="campaign",
                    template="campaign",
                    customer_id=customer,
                    channel=campaign.channel,
                    address=addresses[customer],
                    language=language,
                    params=_offer_params(campaign, language),
                    now=now,
                    campaign_id=campaign.id,
                )
            )
            counts["messages"] += 1
    campaign.status = "running"
    campaign.started_at = campaign.started_at or now
    session.commit()
    return counts


def due_campaigns(session: Session, now: datetime) -> list[int]:
    return list(
        session.scalars(
            select(Campaign.id)
            .where(Campaign.status == "scheduled", Campaign.scheduled_at <= now)
            .order_by(Campaign.id)
        )
    )


@dataclass(frozen=True)
class Estimate:
    treated: float
    holdout: float
    uplift: float
    ci_low: float
    ci_high: float
    p_value: float


@dataclass(frozen=True)
class CampaignResult:
    campaign_id: int
    window_days: float
    treated: int
    holdout: int
    conversion: Estimate
    revenue_per_customer: Estimate

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def _welch(treated: np.ndarray, holdout: np.ndarray, confidence: float) -> Estimate:
    t_mean, h_mean = float(treated.mean()), float(holdout.mean())
    if len(treated) < 2 or len(holdout) < 2:
        return Estimate(t_mean, h_mean, t_mean - h_mean, math.nan, math.nan, math.nan)
    test = stats.ttest_ind(treated, holdout, equal_var=False)
    ci = test.confidence_interval(confidence)
    return Estimate(t_mean, h_mean, t_mean - h_mean, float(ci.low), float(ci.high), float(test.pvalue))


def campaign_result(
    session: Session, campaign_id: int, window_days: float = 14.0, confidence: float = 0.95
) -> CampaignResult:
    """Conversion (share of members with an order placed through the assistant within the window after
    the launch) and revenue per member, treated vs holdout, from `assistant_events`."""
    campaign = session.get(Campaign, campaign_id)
    if campaign is None or campaign.started_at is None:
        raise LookupError(f"campaign {campaign_id} has not been launched")
    end = campaign.started_at + timedelta(days=window_days)
    members = pd.DataFrame(
        session.execute(
            select(CampaignMember.customer_id, CampaignMember.arm).where(
                CampaignMember.campaign_id == campaign_id
            )
        ).all(),
        columns=["customer_id", "arm"],
    )
    orders = pd.DataFrame(
        session.execute(
            select(AssistantEvent.customer_id, AssistantEvent.value)
            .join(CampaignMember, CampaignMember.customer_id == AssistantEvent.customer_id)
            .where(
                CampaignMember.campaign_id == campaign_id,
                AssistantEvent.type == "order_placed",
                AssistantEvent.at >= campaign.started_at,
                AssistantEvent.at < end,
            )
        ).all(),
        columns=["customer_id", "value"],
    )
    revenue = orders.assign(value=orders["value"].astype(float)).groupby("customer_id")["value"].sum()
    members["revenue"] = members["customer_id"].map(revenue).fillna(0.0)
    members["converted"] = members["customer_id"].isin(revenue.index).astype(float)
    t, h = members[members["arm"] == "treated"], members[members["arm"] == "holdout"]
    return CampaignResult(
        campaign_id=campaign_id,
        window_days=window_days,
        treated=len(t),
        holdout=len(h),
        conversion=_welch(t["converted"].to_numpy(), h["converted"].to_numpy(), confidence),
        revenue_per_customer=_welch(t["revenue"].to_numpy(), h["revenue"].to_numpy(), confidence),
    )
