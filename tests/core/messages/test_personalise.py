"""Personalisation: first names, fallbacks per language, variants, max length, whole audience."""

from __future__ import annotations

import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from wamkt_nb.data.sample import generate
from wamkt_nb.messages import MessageSpec, Param, first_names, personalise, shorten, template_from_text


def audience():
    return pd.DataFrame(
        {
            "customer_id": ["a", "b", "c", "d", "e"],
            "first_name": ["Anna", None, "  ", "JÜRGEN", None],
            "name": ["Anna Schmidt", "lena meyer", "Sem de Jong", None, None],
            "language": ["de", "de", "NL", "de", "en"],
            "city": ["Berlin", "Köln", "Utrecht", "Graz\n", None],
        }
    ).astype("str")


def test_first_names_come_from_first_name_else_name_and_fix_case():
    assert first_names(audience()).tolist()[:4] == ["Anna", "Lena", "Sem", "Jürgen"]
    assert pd.isna(first_names(audience()).iloc[4])


def test_missing_name_gets_neutral_greeting_in_the_customers_language():
    spec = MessageSpec(text={"de": "{{first_name}}, dein Paket ist da.", "en": "{{first_name}}, it's here."})
    out = personalise(audience(), spec)
    assert out.body.tolist() == [
        "Anna, dein Paket ist da.",
        "Lena, dein Paket ist da.",
        "Sem, dein Paket ist da.",
        "Jürgen, dein Paket ist da.",
        "Hi, it's here.",
    ]
    # Dutch has no variant: the default language's text is used and reported
    assert out.language.tolist() == ["de", "de", "de", "de", "en"]


def test_fallback_can_be_given_per_language_and_values_are_cleaned_for_meta():
    spec = MessageSpec(
        text="Hallo {{first_name}} aus {{city}}!",
        params={"city": Param("city", fallback={"de": "deiner Stadt", "*": "your city"})},
    )
    out = personalise(audience(), spec)
    assert out.body.iloc[3] == "Hallo Jürgen aus Graz!"  # new line removed (Meta refuses it)
    assert out.body.iloc[4] == "Hallo there aus your city!"  # English speaker, German-only text
    assert out.values["city"].iloc[4] == "your city"


def test_template_variants_use_params_and_keep_the_index():
    de = template_from_text(
        "paket", "de", "UTILITY", "Hallo {{1}}, dein Paket ist in {{2}}.", examples={"1": "A", "2": "B"}
    )
    en = template_from_text(
        "paket", "en", "UTILITY", "Hi {{1}}, your parcel is in {{2}}.", examples={"1": "A", "2": "B"}
    )
    aud = audience().set_axis([5, 6, 7, 8, 9])
    spec = MessageSpec(
        category="utility",
        template={"de": de, "en": en},
        params={"1": Param("first_name"), "2": Param("city", fallback="town")},
    )
    out = personalise(aud, spec)
    assert list(out.body.index) == [5, 6, 7, 8, 9]
    assert out.body[9] == "Hi there, your parcel is in town."
    assert out.body[5] == "Hallo Anna, dein Paket ist in Berlin."


def test_unknown_column_is_named():
    with pytest.raises(KeyError, match="no customer column 'shoe_size'"):
        personalise(audience(), MessageSpec(text="Hi {{shoe_size}} ok"))


def test_max_length_cuts_between_words():
    spec = MessageSpec(text="{{first_name}}, dein Rabattcode wartet auf dich!", max_length=30)
    out = personalise(audience(), spec)
    assert out.body.iloc[0] == "Anna, dein Rabattcode wartet…"
    assert out.truncated.all()
    assert (out.body.str.len() <= 30).all()


@settings(max_examples=200, deadline=None)
@given(
    st.lists(st.text(alphabet=st.sampled_from("ab cdé,."), max_size=40), min_size=1, max_size=20),
    st.integers(min_value=2, max_value=35),
)
def test_shorten_never_cuts_a_word_and_respects_the_limit(texts, limit):
    series = pd.Series(texts, dtype="str")
    out, cut = shorten(series, limit)
    for original, short, was_cut in zip(texts, out, cut, strict=True):
        if not was_cut:
            assert short == original and len(original) <= limit
            continue
        kept, text = short[:-1].lstrip(), original.lstrip()
        first_word = text.split()[0] if text.split() else ""
        if len(short) > limit:  # only when the first word alone is longer than the limit
            assert kept == first_word
        else:
            assert text.startswith(kept)
            rest = text[len(kept) :]
            assert rest == "" or rest[0].isspace() or kept == "" or kept[-1] in ",." or rest[0] in ",. "


def test_whole_sample_audience_renders_without_gaps():
    data = generate(3_000, seed=3)
    spec = MessageSpec(text={"de": "{{first_name}}, dein Code wartet!", "en": "{{first_name}}, your code!"})
    out = personalise(data.customers, spec)
    assert out.body.notna().all() and len(out.body) == 3_000
    nameless = data.customers["first_name"].isna() & data.customers["name"].isna()
    assert nameless.any()
    assert out.body[nameless].str.match(r"^(Hallo|Hi|Olá),").all()


def test_text_that_greets_before_the_name_gets_a_neutral_address_not_a_second_greeting():
    out = personalise(
        audience(),
        MessageSpec(text={"de": "Hallo {{first_name}}, dein Paket ist da.", "en": "Hi {{first_name}}, it's here."}),
    )
    assert out.body.iloc[0] == "Hallo Anna, dein Paket ist da."
    assert out.body.iloc[4] == "Hi there, it's here."
    t = template_from_text("p", "de", "UTILITY", "Hallo {{1}}, dein Paket ist da.", examples={"1": "A"})
    spec = MessageSpec(category="utility", template=t, params={"1": Param("first_name")})
    aud = audience().assign(language="de")
    assert personalise(aud, spec).body.iloc[4] == "Hallo du, dein Paket ist da."
