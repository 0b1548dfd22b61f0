"""The sender's retry policy, one Meta error code at a time: what :func:`decide` does after a failed
attempt, and why. Errors are built the way the client builds them from Meta's answers
(:func:`error_from_payload`), so each code goes through the real classification."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from wamkt_nb.campaigns.policy import (
    RECIPIENT_CODES,
    STOP_CODES,
    TITLE_LIMIT,
    Fail,
    Pause,
    PauseReason,
    Retry,
    Side,
    Throttle,
    Unknown,
    decide,
    failure_side,
    template_hold,
    unknown_resend_at,
)
from wamkt_nb.campaigns.sender import SendOptions, UnknownPolicy
from wamkt_nb.cloudapi.errors import (
    CloudAPIError,
    InvalidURLError,
    OutcomeUnknownError,
    TransportError,
    error_from_payload,
)

NOW = 1_000.0
TEMPLATE = ("spring_sale", "de")
OPTIONS = SendOptions(phone_number_ids=("pn-1",), max_attempts=3, max_throttled=4, unknown_wait=60.0)


def meta(code: int, message: str = "", http_status: int = 400) -> CloudAPIError:
    """The error the client raises for Meta's answer with ``code``."""
    return error_from_payload(
        {"error": {"code": code, "message": message or f"Meta says {code}", "fbtrace_id": "Atrace"}}, http_status
    )


def run(
    exc: CloudAPIError,
    *,
    attempt: int = 1,
    throttled: int = 0,
    template: tuple[str, str] | None = TEMPLATE,
    options: SendOptions = OPTIONS,
    jitter: float = 1.0,
):
    """``decide`` with full jitter (1.0), so a retry waits exactly what the error class suggests."""
    return decide(exc, attempt=attempt, throttled=throttled, template=template, options=options, now=NOW, jitter=jitter)


# code, expected decision, why --------------------------------------------------------------------
RETRIED = [
    (4, Retry(NOW + 1.0), "app call rate limit: back off 1 s, then 2, 4, ... up to 60 s"),
    (80007, Retry(NOW + 1.0), "WABA rate limit: back off like any rate limit"),
    (
        131056,
        Retry(NOW + 4.0, hold_recipient=True),
        "pair rate: wait 4^attempt s and send nothing else to this recipient meanwhile",
    ),
    (131000, Retry(NOW + 0.5), "Meta's 'something went wrong': retry a few times from 0.5 s"),
    (131016, Retry(NOW + 0.5), "service temporarily unavailable: retry"),
    (131057, Retry(NOW + 0.5), "account in maintenance or throughput upgrade: retry"),
]

FAILED = [
    (131049, Side.HELD, "per-user marketing limit: Meta held it back; not a failure of ours, never retried at once"),
    (131026, Side.RECIPIENT, "undeliverable: not on WhatsApp, old app or terms not accepted"),
    (131047, Side.RECIPIENT, "this customer's 24 h service window is closed: a template is needed"),
    (131050, Side.RECIPIENT, "the customer stopped marketing messages from us"),
    (130472, Side.RECIPIENT, "the customer is in Meta's marketing experiment: resending fails the same way"),
    (100, Side.OURS, "invalid parameter: the request is wrong, retrying cannot help"),
    (2500, Side.OURS, "unknown path (e.g. a wrong API version): our configuration"),
    (131008, Side.OURS, "a required parameter is missing"),
    (131009, Side.OURS, "a parameter value is not valid"),
    (131021, Side.OURS, "the recipient is our own sending number: our audience list"),
    (131051, Side.OURS, "unsupported message type: our payload"),
    (131048, Side.OURS, "spam rate limit: not retried, and not a pause (only 190/368/131031 pause)"),
    (132000, Side.OURS, "template parameter count mismatch"),
    (132001, Side.OURS, "template missing in that language or not approved"),
    (132012, Side.OURS, "template parameter format mismatch"),
    (131063, Side.OURS, "marketing templates must go through the Marketing Messages API"),
]

PAUSED = [
    (190, PauseReason.AUTH, "access token invalid or expired: no row can go out until it is replaced"),
    (368, PauseReason.ACCOUNT, "account restricted for policy violations"),
    (131031, PauseReason.ACCOUNT, "business account locked"),
]


@pytest.mark.parametrize(("code", "expected", "why"), RETRIED, ids=[f"{c}" for c, _, _ in RETRIED])
def test_retryable_codes_are_retried_after_their_backoff(code, expected, why):
    assert run(meta(code)) == expected, why


@pytest.mark.parametrize(("code", "side", "why"), FAILED, ids=[f"{c}" for c, _, _ in FAILED])
def test_permanent_codes_fail_the_row_with_metas_message_and_whose_matter_it_is(code, side, why):
    assert run(meta(code, "Meta's own words")) == Fail("Meta's own words", side), why
    assert failure_side(code) is side, why


@pytest.mark.parametrize(("code", "reason", "why"), PAUSED, ids=[f"{c}" for c, _, _ in PAUSED])
def test_account_codes_pause_the_run_instead_of_failing_the_row(code, reason, why):
    decision = run(meta(code, "raw text"))
    assert isinstance(decision, Pause), why
    assert decision.reason is reason and not decision.leaves
    assert decision.message == f"paused: {meta(code).meaning} ({code}); fix it, then resume"
    assert code in STOP_CODES


def test_throughput_130429_slows_the_number_and_does_not_use_up_an_attempt():
    first = run(meta(130429), attempt=1, throttled=0)
    assert first == Throttle(NOW + 1.0, throttled=1)
    # nine attempts of which eight were throttled count as one: still throttled, not exhausted
    later = run(meta(130429), attempt=9, throttled=2)
    assert later == Throttle(NOW + 4.0, throttled=3)  # the wait grows with the throttle answers: 1, 2, 4 s


def test_throughput_130429_fails_the_row_after_max_throttled_answers():
    decision = run(meta(130429, "Rate limit hit"), attempt=4, throttled=3)
    assert decision == Fail("gave up after 4 throttled attempts: Rate limit hit", Side.OURS)


def test_pair_rate_131056_waits_four_to_the_attempt():
    waits = [run(meta(131056), attempt=n).at - NOW for n in (1, 2)]
    assert waits == [4.0, 16.0]


def test_a_paused_template_132015_pauses_until_meta_reapproves_it():
    decision = run(meta(132015))
    assert decision == template_hold(*TEMPLATE, "PAUSED")
    assert decision.reason is PauseReason.TEMPLATE_PAUSED and decision.template == TEMPLATE
    assert not decision.leaves and "re-approves" in decision.message


def test_a_disabled_template_132016_ends_the_run():
    decision = run(meta(132016))
    assert decision.reason is PauseReason.TEMPLATE_DISABLED and decision.leaves
    assert decision.message == "paused: Meta disabled template spring_sale (de); choose another template"


def test_132015_on_a_message_that_is_no_template_is_an_ordinary_failure():
    assert run(meta(132015, "Template is Paused"), template=None) == Fail("Template is Paused", Side.OURS)


def test_a_server_error_without_a_code_is_retried_then_given_up():
    exc = error_from_payload("Bad Gateway", 502)
    assert run(exc, attempt=1) == Retry(NOW + 0.5)
    assert run(exc, attempt=2) == Retry(NOW + 1.0)
    assert run(exc, attempt=3) == Fail(f"gave up after 3 attempts: {exc.message}", Side.OURS)


def test_no_connection_is_retried_then_pauses_the_run_failing_nobody():
    exc = TransportError("connection refused")
    assert run(exc, attempt=2) == Retry(NOW + 1.0)
    decision = run(exc, attempt=3)
    assert decision == Pause(
        PauseReason.UNREACHABLE, "paused: cannot reach the API (connection refused); resume when it is back"
    )


def test_an_unusable_api_address_pauses_at_once():
    decision = run(InvalidURLError("the API address has no host"))
    assert decision == Pause(PauseReason.ADDRESS, "paused: the API address has no host; fix it, then resume")


def test_a_lost_answer_waits_for_a_webhook_then_may_be_resent():
    exc = OutcomeUnknownError("read timeout")
    assert run(exc, attempt=1) == Unknown(NOW + 60.0)
    assert run(exc, attempt=3) == Unknown(None), "the last attempt: never resent, it waits for a webhook"
    assert run(exc, attempt=5, throttled=3) == Unknown(NOW + 60.0), "throttle answers do not count"
    never = SendOptions(phone_number_ids=("pn-1",), unknown_policy=UnknownPolicy.NEVER_RESEND)
    assert run(exc, options=never) == Unknown(None)


def test_unknown_rows_found_at_a_resume_follow_the_same_rule():
    assert unknown_resend_at(500.0, 2, OPTIONS) == 560.0
    assert unknown_resend_at(500.0, 3, OPTIONS) is None


def test_exhausted_attempts_count_without_the_throttle_answers():
    assert run(meta(131000), attempt=4, throttled=2) == Retry(NOW + 1.0)
    assert run(meta(131000, "Something went wrong"), attempt=5, throttled=2) == Fail(
        "gave up after 3 attempts: Something went wrong", Side.OURS
    )


def test_backoff_grows_per_attempt_up_to_each_class_cap_and_scales():
    many = SendOptions(phone_number_ids=("pn-1",), max_attempts=20)
    rate = [run(meta(80007), attempt=n, options=many).at - NOW for n in range(1, 10)]
    assert rate == [1.0, 2.0, 4.0, 8.0, 16.0, 32.0, 60.0, 60.0, 60.0]
    transient = [run(meta(131000), attempt=n, options=many).at - NOW for n in range(1, 9)]
    assert transient == [0.5, 1.0, 2.0, 4.0, 8.0, 16.0, 30.0, 30.0]
    pair = [run(meta(131056), attempt=n, options=many).at - NOW for n in range(5, 8)]
    assert pair == [1024.0, 3600.0, 3600.0]
    fast = SendOptions(phone_number_ids=("pn-1",), backoff_scale=0.01)
    assert run(meta(80007), options=fast).at == pytest.approx(NOW + 0.01)


def test_jitter_spreads_a_retry_between_half_and_the_full_wait():
    assert run(meta(131056), jitter=0.0).at == NOW + 2.0
    assert run(meta(131056), jitter=0.5).at == NOW + 3.0


def test_a_long_message_is_cut_to_what_the_ledger_keeps():
    decision = run(meta(131000, "x" * 400), attempt=3)
    assert decision.title.startswith("gave up after 3 attempts: xxx") and len(decision.title) == TITLE_LIMIT
    assert run(meta(100, "y" * 400)).title == "y" * TITLE_LIMIT


KNOWN = sorted({c for c, *_ in RETRIED + FAILED + PAUSED} | {130429, 132015, 132016} | RECIPIENT_CODES)


@given(
    code=st.sampled_from([*KNOWN, None]),
    attempt=st.integers(1, 40),
    throttled=st.integers(0, 40),
    jitter=st.floats(0.0, 1.0),
    now=st.floats(0.0, 4e9),
    unknown=st.booleans(),
    transport=st.booleans(),
    template=st.sampled_from([TEMPLATE, None]),
)
def test_a_decision_never_schedules_before_now_nor_retries_beyond_the_caps(
    code, attempt, throttled, jitter, now, unknown, transport, template
):
    throttled = min(throttled, attempt - 1)
    if unknown:
        exc: CloudAPIError = OutcomeUnknownError("timeout")
    elif transport or code is None:
        exc = TransportError("refused")
    else:
        exc = meta(code)
    decision = decide(
        exc, attempt=attempt, throttled=throttled, template=template, options=OPTIONS, now=now, jitter=jitter
    )
    counted = attempt - throttled
    if isinstance(decision, (Retry, Throttle)):
        assert decision.at >= now
    if isinstance(decision, Retry):
        assert counted < OPTIONS.max_attempts
    if isinstance(decision, Throttle):
        assert decision.throttled == throttled + 1 < OPTIONS.max_throttled
    if isinstance(decision, Unknown):
        assert decision.resend_at is None or (decision.resend_at >= now and counted < OPTIONS.max_attempts)
    if isinstance(decision, Fail):
        assert decision.title and len(decision.title) <= TITLE_LIMIT
