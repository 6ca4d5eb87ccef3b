"""Request and response bodies of the HTTP API (separate classes, as FastAPI's template does).

Feature rows are free-form objects here: which features a row needs, and their kinds and
ranges, come from the served model's manifest at request time (`features.FeatureSchema`),
since a promote can change them without a restart.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, model_validator

CustomerId = str


class PredictRequest(BaseModel):
    """Either `customers` (ids whose features are in the online store) or `rows` (raw feature
    rows, each with `customer_id` and every feature the model reads), not both."""

    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [
        {"customers": ["c-1001", "c-1002"]}]})

    customers: list[CustomerId] | None = Field(
        None, description="Customer ids to score from the online store.")
    rows: list[dict[str, Any]] | None = Field(
        None, description="Raw feature rows: {'customer_id': ..., '<feature>': value, ...}.")

    @model_validator(mode="after")
    def _one_of(self) -> "PredictRequest":
        if (self.customers is None) == (self.rows is None):
            raise ValueError("give exactly one of 'customers' (ids in the online store) or "
                             "'rows' (raw feature rows)")
        return self


class Prediction(BaseModel):
    customer_id: CustomerId
    ltv: float = Field(description="Expected net spend over the model's horizon (currency).")
    ltv_lo: float = Field(description="Lower end of the prediction interval.")
    ltv_hi: float = Field(description="Upper end of the prediction interval.")
    p_active: float = Field(description="Probability of any purchase in the horizon.")
    model_version: int
    arm: str = Field(description="'champion' or 'challenger' (A/B by a hash of customer_id).")


class PredictResponse(BaseModel):
    model: str
    horizon_days: int | None
    predictions: list[Prediction]


class CustomerResponse(BaseModel):
    prediction: Prediction
    features: dict[str, Any]
    profile: dict[str, Any] | None = Field(
        None, description="Segment, LTV tier, churn risk, cold start and interests as of the "
                          "profile's cutoff (`ltv profile --online`); null if none was stored.")
    explanation: dict[str, Any] | None = Field(
        None, description="Top drivers of the prediction in currency: baseline + drivers + "
                          "other (+ approximation_error) = prediction.")
    explanation_error: str | None = Field(
        None, description="Why there is no explanation, when there is none.")


class EventTransaction(BaseModel):
    model_config = ConfigDict(extra="forbid")

    ts: datetime = Field(description="When it happened (ISO 8601; no time zone means UTC).")
    amount: float = Field(description="Net amount (currency); a return is negative.",
                          allow_inf_nan=False)
    order_id: str | None = None
    product_id: str | None = None
    category: str | None = None
    quantity: float | None = Field(None, allow_inf_nan=False)
    channel: str | None = None


class BehaviourEvent(BaseModel):
    model_config = ConfigDict(extra="forbid")

    ts: datetime = Field(description="When it happened (ISO 8601; no time zone means UTC).")
    event_type: str = Field(min_length=1, description="view, cart, purchase, ...")
    product_id: str | None = None
    category: str | None = None
    price: float | None = Field(None, allow_inf_nan=False)
    session_id: str | None = None


class EventsRequest(BaseModel):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [
        {"customer_id": "c-1001",
         "transactions": [{"ts": "2024-06-02T10:15:00Z", "amount": 42.5}]}]})

    customer_id: CustomerId = Field(min_length=1)
    transactions: list[EventTransaction] = Field(default_factory=list)
    events: list[BehaviourEvent] = Field(default_factory=list)
    as_of: datetime | None = Field(
        None, description="Features as of this time (default: now, UTC); after every row.")

    @model_validator(mode="after")
    def _something(self) -> "EventsRequest":
        if not self.transactions and not self.events:
            raise ValueError("give at least one of 'transactions' or 'events'")
        return self


class EventsResponse(BaseModel):
    customer_id: CustomerId
    prediction: Prediction | None = Field(description="null while the customer has no "
                                                      "transaction yet (nothing to score)")
    features: dict[str, Any] | None


class PromoteRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    version: int = Field(ge=1)


class ABRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    challenger: int | None = Field(None, ge=1, description="Version to test; null ends the test.")
    share: float = Field(0.0, ge=0.0, le=1.0, description="Share of customers it gets.")


class FeatureSpec(BaseModel):
    name: str
    kind: str = Field(description="number, string, timestamp or sequence (list of numbers)")
    nullable: bool
    allowed_min: float | None = None
    allowed_max: float | None = None
    length: int | None = None


class ModelsResponse(BaseModel):
    name: str
    champion: int
    challenger: int | None
    challenger_share: float
    features: list[FeatureSpec] = Field(description="What a raw feature row for the champion "
                                                    "must hold.")


class RetrainRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    cutoff: str = Field("today", description="Train on rows before this time (UTC), or "
                                             "'today' (its midnight), as `ltv retrain`.")
    margin: float = Field(0.01, ge=0.0, description="Gini the challenger must gain.")
    models: str | None = Field(None, description="Challenger spec (btyd, gbdt, deep, auto or "
                                                 "a comma list); default: the champion's.")


class RetrainResponse(BaseModel):
    promoted: bool
    champion_version: int | None = Field(description="The champion before the retrain.")
    challenger_version: int
    serving: int = Field(description="The version this server serves after the decision.")
    decision: dict[str, Any] = Field(description="The record appended to decisions.jsonl.")
