"""Comparing versions as they read: the rendered Markdown with its formatting, words added and
removed marked, always sanitised; on the proposal's diff page, a decision's trail, and the
charter (what changed since the version a member signed, or since any earlier version)."""

from __future__ import annotations

from html.parser import HTMLParser

import asyncpg
from hypothesis import given, settings
from hypothesis import strategies as st

from consentir.consent.diff import rendered_diff
from consentir.spaces.store import Space
from tests.scenario import Scenario
from tests.test_decisions import adopt_with_a_trail
from tests.test_spaces import SIGNATURE
from tests.web import Client, act_as, post_form

# --- the rendered diff -----------------------------------------------------------------------


class Shape(HTMLParser):
    """Reads a diff's HTML: its tags must balance, a list hold only items, a table no loose
    text; `plain`, `without_ins` and `without_del` are its text, all of it, or less what was
    added or removed."""

    def __init__(self, html: str) -> None:
        super().__init__()
        self.stack: list[str] = []
        self.problems: list[str] = []
        self.plain: list[str] = []
        self.without_ins: list[str] = []
        self.without_del: list[str] = []
        self.feed(html)
        self.close()

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if self.stack and self.stack[-1] in ("ul", "ol") and tag != "li":
            self.problems.append(f"<{tag}> in a list")
        if tag not in ("br", "hr"):
            self.stack.append(tag)

    def handle_endtag(self, tag: str) -> None:
        if not self.stack or self.stack[-1] != tag:
            self.problems.append(f"</{tag}> closes {self.stack[-1:]}")
        else:
            self.stack.pop()

    def handle_data(self, data: str) -> None:
        if data.strip() and self.stack and self.stack[-1] in ("ul", "ol", "table", "tr", "tbody"):
            self.problems.append(f"text {data!r} in <{self.stack[-1]}>")
        self.plain.append(data)
        if "ins" not in self.stack:
            self.without_ins.append(data)
        if "del" not in self.stack:
            self.without_del.append(data)


def letters(parts: list[str]) -> str:
    return "".join("".join(parts).split())


def rendered_letters(text: str) -> str:
    return letters(Shape(str(rendered_diff(text, text))).plain)


def test_formatting_is_applied_not_shown_as_markup() -> None:
    html = str(rendered_diff("Un **compte rendu** par mois.", "Un **compte rendu** par semaine."))
    assert "**" not in html
    assert "<strong>compte rendu</strong>" in html
    assert "<del>mois.</del>" in html and "<ins>semaine.</ins>" in html


def test_removed_items_and_paragraphs_stay_where_text_may_stand() -> None:
    html = str(rendered_diff("- un\n- deux\n- trois\n\nFin.", "- un\n- trois"))
    shape = Shape(html)
    assert shape.problems == [] and shape.stack == []
    assert "<del>deux</del>" in html and "<del>Fin.</del>" in html
    table = "| a | b |\n|---|---|\n| 1 | 2 |\n"
    html = str(rendered_diff(table + "| 3 | 4 |\n", table))
    shape = Shape(html)
    assert shape.problems == [] and "<del>3 4</del>" in html


def test_raw_html_never_gets_through() -> None:
    old = "Texte."
    new = "Texte <script>alert(1)</script> <img src=x onerror=alert(2)> [l](javascript:alert(3))"
    html = str(rendered_diff(old, new))
    assert "<script" not in html and "<img" not in html and 'href="javascript' not in html
    assert "&lt;script&gt;" in html  # shown as the text it is
    html = str(rendered_diff(new, old))  # removed: the same
    assert "<script" not in html and "<img" not in html


def test_long_texts_are_compared_line_by_line_then_word_by_word() -> None:
    paragraphs = [f"Article {n} : le **cercle** {n} se réunit chaque mois." for n in range(1500)]
    old = "\n\n".join(paragraphs)  # about 75 000 characters
    new = old.replace("cercle** 700 se réunit chaque mois", "cercle** 700 se réunit chaque semaine")
    html = str(rendered_diff(old, new))
    assert html.count("<del>") == html.count("<ins>") == 1
    assert "<del>mois.</del> <ins>semaine.</ins>" in html
    # Rewritten from end to end: too long to compare word by word, shown replaced whole.
    rewritten = "\n\n".join(f"Point {n} : chacun *écoute* {n}." for n in range(1500))
    shape = Shape(str(rendered_diff(old, rewritten)))
    assert shape.problems == [] and shape.stack == []
    assert letters(shape.without_del) == rendered_letters(rewritten)
    assert letters(shape.without_ins) == rendered_letters(old)


BLOCKS = st.sampled_from([
    "Un **compte rendu** écrit.", "Le *lundi* soir.", "- un\n- deux", "- trois", "1. premier",
    "# Titre", "> cité", "| a | b |\n|---|---|\n| 1 | 2 |", "`code` & <b>gras</b>", "---",
    "Voir [ici](https://exemple.org).", "mot", "autre mot",
])  # fmt: skip


@settings(max_examples=300, deadline=None)
@given(st.lists(BLOCKS, max_size=6), st.lists(BLOCKS, max_size=6))
def test_any_diff_is_well_formed_and_reads_as_both_versions(
    old_blocks: list[str], new_blocks: list[str]
) -> None:
    old, new = "\n\n".join(old_blocks), "\n\n".join(new_blocks)
    shape = Shape(str(rendered_diff(old, new)))
    assert shape.problems == [] and shape.stack == []
    # Less what was removed, it reads as the new version; less what was added, as the old one.
    assert letters(shape.without_del) == rendered_letters(new)
    assert letters(shape.without_ins) == rendered_letters(old)


# --- the pages -------------------------------------------------------------------------------


async def test_version_comparisons_show_the_text_formatted(
    scenario_client: Client, world: Scenario, pool: asyncpg.Pool, alpha: Space
) -> None:
    # version 1: "Une **réunion** chaque premier lundi du mois.", version 2: "… mardi …"
    number = await adopt_with_a_trail(pool, alpha, world)
    async with pool.acquire() as conn:
        proposal_id = await conn.fetchval(
            "SELECT proposal_id FROM decisions WHERE number = $1", number
        )
    act_as(scenario_client, world, "member")
    for url in (f"/s/alpha/proposals/{proposal_id}/diff", f"/s/alpha/decisions/{number}"):
        page = await scenario_client.get(url)
        assert page.status_code == 200, url
        assert "**" not in page.text, url
        assert "<strong>réunion</strong> chaque premier <del>lundi</del> <ins>mardi</ins>" in (
            page.text
        ), url


async def test_a_member_signing_again_sees_what_changed_since_their_version(
    scenario_client: Client, world: Scenario
) -> None:
    act_as(scenario_client, world, "admin")
    old = (await scenario_client.get("/s/alpha/charter")).text
    assert 'id="changes"' not in old  # signed, nothing to compare
    published = await post_form(
        scenario_client, "/s/alpha/charter",
        {"body": "Nous décidons par **consentement**, et nous *écoutons*.",
         "expected_version": "1"},
    )  # fmt: skip
    assert published.status_code == 303

    act_as(scenario_client, world, "member")
    page = await scenario_client.get("/s/alpha/charter")
    assert "depuis la version 1, que vous avez signée" in page.text
    changes = page.text.split('id="changes"')[1].split("</section>")[0]
    assert "<strong><ins>consentement</ins></strong>" in changes
    assert "<em><ins>écoutons</ins></em>" in changes and "**" not in changes
    refused = await post_form(scenario_client, "/s/alpha/charter/sign", {"charter_version": "2"})
    assert refused.status_code == 422 and "que vous avez signée" in refused.text

    signed = await post_form(
        scenario_client, "/s/alpha/charter/sign", {"charter_version": "2", **SIGNATURE}
    )
    assert signed.status_code == 303
    again = await scenario_client.get("/s/alpha/charter")
    assert 'id="changes"' not in again.text  # signed: nothing waits
    # Anyone who may read the charter may still compare it with an earlier version.
    assert 'href="/s/alpha/charter?since=1#changes"' in again.text
    since = await scenario_client.get("/s/alpha/charter?since=1")
    assert "Ce qui a changé depuis la version 1</h2>" in since.text
    assert "<strong><ins>consentement</ins></strong>" in since.text
    nonsense = await scenario_client.get("/s/alpha/charter?since=99")
    assert nonsense.status_code == 200 and 'id="changes"' not in nonsense.text
