#!/usr/bin/env python3
"""Write rx_honeybee/data/corpus.jsonl: the demo's corpus of signed Nostr events.

Five made-up authors (their secret keys are sha256 of fixed seeds, so anyone can re-sign)
publish over four days of March 2024: a profile each (kind 0), a contact list each (kind 3),
notes of 20 to 1500 characters in several languages (kind 1, some with ``t`` hashtags and
``p`` mentions), replies in threads (kind 1 with NIP-10 ``e`` root/reply markers), reactions
(kind 7) and long-form articles (kind 30023, with ``d`` tags).

The output is deterministic: seeded randomness, fixed timestamps, and BIP-340 auxiliary
randomness derived from the seeds too, so re-running the script rewrites the same bytes.
``--check`` exits 1 when the file on disk differs (for CI). Needs coincurve (the ``dev`` or
``verify`` extra).

Usage::

    .venv/bin/python scripts/make_corpus.py [--out PATH] [--check]
"""

from __future__ import annotations

import argparse
import hashlib
import json
import random
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import coincurve

from rx_honeybee.cli.corpus import HANDLES, SEED, secret_key
from rx_honeybee.verify import sign_event, verify_event

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_OUT = ROOT / "rx_honeybee" / "data" / "corpus.jsonl"

START = 1_710_144_000  # 2024-03-11 08:00:00 UTC
SPAN = 4 * 86_400  # the corpus covers four days
RELAY = "wss://relay.example.com"

TOP_LEVEL_NOTES = 28  # per author
REPLIES = 25
REACTIONS = 22


@dataclass(frozen=True)
class Author:
    """A made-up author: a name, a profile and what they talk about."""

    handle: str
    profile: dict[str, str]
    sentences: tuple[str, ...]  # the bank their notes are drawn from
    hashtags: tuple[str, ...]
    replies: tuple[str, ...]  # what they say when replying to someone

    @property
    def secret_key(self) -> str:
        """The secret key: sha256 of the seed and the handle, as hex (the demo re-signs too)."""
        return secret_key(self.handle)

    @property
    def pubkey(self) -> str:
        """The x-only public key of ``secret_key``, as hex."""
        key = coincurve.PrivateKey(bytes.fromhex(self.secret_key))
        return key.public_key_xonly.format().hex()


AUTHORS = (
    Author(
        handle="ada",
        profile={
            "name": "ada",
            "display_name": "Ada Reyes",
            "about": "Runs a small relay from a closet in Valencia. Python, Rust, WebSockets, "
            "and too many terminal tabs.",
            "picture": "https://images.example.com/ada.png",
            "nip05": "ada@example.com",
            "website": "https://ada.example.com",
            "lud16": "ada@wallet.example.com",
        },
        sentences=(
            "The relay restarted at 03:12 after the kernel update and every client came "
            "back within eight seconds.",
            "Reminder: a subscription id is scoped to the connection, not to the relay.",
            "Spent the morning reading NIP-01 again. Every time I find a sentence I had "
            "skimmed before.",
            "If your client sends the same REQ id twice, the second one replaces the first. "
            "That's in the spec and it's a feature.",
            "EOSE is a promise about the past, not about the future: after it you only get "
            "what arrives live.",
            "Backoff with jitter is not optional. Two hundred clients reconnecting on the "
            "same second is how you learn that.",
            "Today's relay stats: 41k events stored, 312 connections at peak, p99 latency "
            "under 20 ms.",
            "Writing tests against an in-memory relay is so much nicer than mocking the socket.",
            'Somebody asked why OK messages carry "duplicate:" as a prefix. So that '
            "machines can read them without parsing prose.",
            "The event id is a sha256 of a JSON array, which means escaping rules matter. "
            'A stray "\\/" and your id no longer matches.',
            "Ping every 30 seconds, give up after 10 without a pong. Boring numbers that "
            "keep connections honest.",
            "Refactored the write queue today: bounded, ordered, and it tells you when it "
            "drops something.",
            "Coffee, a rubber duck, and a packet capture. Debugging starter pack.",
            "Never trust created_at. Clients have clocks from every decade.",
            "Replaceable events are simple until two arrive with the same timestamp. Then "
            "the lowest id wins.",
            "My relay now speaks NIP-11 on the same port. curl it with Accept: "
            "application/nostr+json.",
            "Closing a subscription politely (CLOSE) costs one frame and saves the relay "
            "a lot of work.",
            "Observables fit relays well: a subscription is a stream that starts, "
            "catches up, and then goes live.",
        ),
        hashtags=("nostr", "relay", "python", "devlog"),
        replies=(
            "Good point, I hadn't thought about that.",
            "Same here. Which relay are you on?",
            "This is the kind of post I come to nostr for 🙏",
            "Filed an issue, thanks for the report!",
            "Counterpoint: the spec says otherwise, see NIP-01.",
        ),
    ),
    Author(
        handle="bruno",
        profile={
            "name": "bruno",
            "display_name": "Bruno Okafor 📷",
            "about": "Photographer between Lagos and Lisbon. Zaps welcome ⚡ "
            "Fotógrafo entre Lagos e Lisboa.",
            "picture": "https://images.example.com/bruno.jpg",
            "banner": "https://images.example.com/bruno-banner.jpg",
            "nip05": "bruno@example.org",
            "lud16": "bruno@wallet.example.org",
        },
        sentences=(
            "Golden hour over the Tagus again. I will never get tired of this light.",
            "Bom dia nostr ☀️",
            "Shot 400 frames at the market this morning and kept eleven. That's a good day.",
            "New roll of film in the camera: Portra 400, expired 2019. Let's see what happens.",
            "Lagos traffic is a photography school. You learn patience or you learn nothing.",
            "Someone zapped my street photo 21 sats and wrote 'the shadows!' Made my week ⚡",
            "Editing tip: fix the horizon before anything else. Everything follows from it.",
            "Saudades de casa. Eating jollof in Lisbon doesn't count, but it helps.",
            "The best camera is still the one in your pocket when something happens.",
            "Printing a small zine of the Makoko series. 40 copies, hand stitched.",
            "Rain in Lisbon means reflections on the calçada. Out I go 🌧️",
            "A lightning wallet on my phone and a relay list in my pocket. Portfolio that "
            "nobody can take down.",
            "Asked a fisherman if I could photograph his hands. He laughed and said yes, "
            "but only if I learned to mend a net first.",
            "Contact sheets are underrated. You see the whole afternoon at once.",
            "Uploading the week's selects tonight. Tell me which one you'd print.",
            "Light meter died mid-shoot. Sunny 16 rule to the rescue.",
        ),
        hashtags=("photography", "filmisnotdead", "lisbon", "lagos", "zaps"),
        replies=(
            "Beautiful, the light on the left 😍",
            "Obrigado! Means a lot, truly.",
            "Which lens was this one? 35 mm?",
            "Zapped ⚡ keep going, this is great.",
            "Haha, this is exactly my morning too.",
        ),
    ),
    Author(
        handle="chiyo",
        profile={
            "name": "chiyo",
            "display_name": "千代 Chiyo",
            "about": "京都で小さな庭を育てています。Gardening, tea, and slow internet. 🌱🍵",
            "picture": "https://images.example.com/chiyo.webp",
            "nip05": "chiyo@example.net",
        },
        sentences=(
            "おはようございます。今朝は霜が降りました ❄️",
            "The first plum blossoms opened today. 梅が咲きました 🌸",
            "Repotted the maples. They sulk for a week, then forgive me.",
            "抹茶を点てる時間が一日で一番静かな時間です。",
            "Moss grows where you stop stepping. A good lesson for gardens and for people.",
            "Planted shiso, mitsuba and a row of radishes. Spring is a promise you sow.",
            "雨の日は苔がきれい。Rainy days are for moss.",
            "Someone asked me how to start a garden on a balcony. Start with one pot and "
            "one plant you love to eat.",
            "Compost update: the worms are happy, the neighbours less so 😅",
            "The temple garden down the road rakes its gravel every morning at six. I have "
            "never seen the same pattern twice.",
            "桜の開花予報が出ました。あと二週間くらいかな。",
            "Pruning is mostly deciding what not to keep.",
            "Tea of the day: gyokuro, 50°C, 2 minutes. Sweet like seaweed and spring.",
            "Found a snail on the bonsai. We have agreed to share it, for now. 🐌",
            "小さな庭でも、季節は全部やってきます。",
        ),
        hashtags=("gardening", "japan", "tea", "bonsai", "kyoto"),
        replies=(
            "ありがとうございます、嬉しいです 🙏 Thank you!",
            "Lovely! What soil do you use?",
            "素敵ですね 🌱 So lovely to see this.",
            "I'd love to see a photo of that.",
            "That sounds so peaceful, enjoy it.",
        ),
    ),
    Author(
        handle="dmitri",
        profile={
            "name": "dmitri",
            "display_name": "Дмитрий Волков",
            "about": "Велосипед, синтезаторы и длинные дороги. Cycling, modular synths, "
            "long roads. 🚲🎛️",
            "picture": "https://images.example.com/dmitri.png",
            "nip05": "dmitri@example.com",
            "website": "https://dmitri.example.com/\u00abmixes\u00bb",
        },
        sentences=(
            "Доброе утро! 120 km today along the river, headwind both ways somehow.",
            "Patched a new sequence on the modular: 7/8 against 4/4, it never repeats the "
            "same way twice.",
            "Велосипед — лучший способ думать.",
            "Chain lube is a personality test. Wax people and oil people will never agree.",
            "Recorded a 40 minute drone at 3 a.m. Uploading it as \u00abnight shift\u00bb.",
            "The oscillator drifts a little when the room warms up. I've decided that's a feature.",
            "Снова дождь. Indoor trainer it is, with the synth on loop.",
            "Crossed 10 000 km this year on the old steel frame. No carbon, no regrets.",
            "Filter sweep + spring reverb = instant 1978.",
            "Rode past a field of sunflowers and had to stop for ten minutes. Some things "
            "you don't pedal past.",
            "Дорога длинная, а чай в термосе горячий ☕",
            "New patch notes: clock divider -> random gate -> envelope -> VCA. Simple and alive.",
            "Punctured twice in one ride. The universe is telling me to buy new tyres.",
            "Мой синтезатор старше меня, и звучит лучше.",
            "Sunday plan: 200 km brevet, then sleep for a week.",
        ),
        hashtags=("cycling", "modular", "synth", "bikepacking"),
        replies=(
            "Круто! 🔥 Respect for that ride.",
            "Headwind both ways is the cyclist's law.",
            "Send me the patch, I want to try it.",
            "Nice one 👍 saving this for later.",
            "Sounds like a perfect day.",
        ),
    ),
    Author(
        handle="elodie",
        profile={
            "name": "elodie",
            "display_name": "Élodie Martin",
            "about": "Cuisinière, autrice, Lyonnaise. Recettes, marchés et longues tables. "
            "I write long-form on nostr (kind 30023).",
            "picture": "https://images.example.com/elodie.jpg",
            "nip05": "elodie@example.fr",
            "website": "https://elodie.example.fr",
            "lud16": "elodie@wallet.example.fr",
        },
        sentences=(
            "Marché de la Croix-Rousse ce matin : premières asperges, et déjà trop chères.",
            "Bonjour nostr 🥐",
            "A good vinaigrette is three parts oil, one part vinegar, and one part patience.",
            "J'ai raté ma pâte feuilletée. Deux fois. La troisième sera la bonne.",
            "Praline tart for Sunday lunch. Pink, sticky, and non-negotiable in Lyon.",
            "Le secret d'une bonne quenelle ? Du temps, du beurre, et encore du temps.",
            "Cooked for twelve last night with one oven and two burners. Everyone ate, "
            "nobody noticed the chaos.",
            "« La cuisine, c'est l'art de transformer instantanément en joie des produits "
            "chargés d'histoire. » Guy Savoy, I think.",
            "Bread dough rising by the window. The kitchen smells like a promise.",
            "Recipe writing is 20% cooking and 80% imagining the reader's kitchen.",
            "Un bouchon lyonnais sans nappe à carreaux, est-ce vraiment un bouchon ?",
            "Tested the saucisson brioche three times this week. My neighbours are very happy.",
            "Salt your pasta water like the sea; then taste it, because seas vary.",
            "New long-form article is up: on Sunday bread, and why it's never the same twice.",
            "Le beurre noisette, c'est juste du beurre qui a eu une bonne idée.",
            "Cheese course debate: before or after dessert? (The answer is before.) 🧀",
        ),
        hashtags=("cuisine", "lyon", "recette", "foodstr", "boulangerie"),
        replies=(
            "Merci beaucoup ! 🥰 Ça me touche.",
            "Oh que oui, tout à fait d'accord.",
            "I need this recipe, please share!",
            "C'est exactement ça.",
            "Bon appétit ! Ça a l'air délicieux.",
        ),
    ),
)

# Notes that carry characters the serialization must get right: quotes, backslashes, tabs,
# code, URLs with slashes, emoji sequences, right-to-left text.
SPECIAL_NOTES = (
    (
        "ada",
        "Quick tip for anyone hashing events by hand:\n\n```python\nimport json\ntext = "
        "json.dumps([0, pubkey, created_at, kind, tags, content],\n                  "
        'separators=(",", ":"), ensure_ascii=False)\n```\n\nNo spaces, raw UTF-8, and '
        'only \\" \\\\ and control characters escaped.',
    ),
    ("ada", "Windows path of the day: C:\\relay\\data\\events.db\tsize:\t1.2 GB"),
    ("bruno", "👨🏿‍💻📷🇳🇬🇵🇹 — the whole bio in six emoji."),
    ("chiyo", "今日の作業:\n\t- 梅の剪定\n\t- 苔の水やり\n\t- お茶 🍵"),
    ("dmitri", 'Track list for tonight:\n1. \u00abnight shift\u00bb\n2. "drift"\n3. 7/8'),
    ("elodie", "Recette express : 200 g de farine / 100 g de beurre / 1 œuf. C'est tout."),
    ("ada", "Testing right-to-left text in my client: مرحبا بالعالم — שלום עולם"),
)

LONG_FORM = (
    (
        "elodie",
        "pain-du-dimanche",
        "Le pain du dimanche",
        "On Sunday bread, patience, and why it is never the same twice.",
        ("cuisine", "boulangerie"),
        [
            "Every Sunday since I was eleven, someone in my family has made bread. First "
            "my grandmother, in a kitchen that smelled of coal and yeast; then my mother, "
            "who pretended she didn't care for it; now me, in a flat in Lyon with an oven "
            "that runs twenty degrees hot.",
            "## La farine",
            "Use a T65 if you can find it. It is a little rougher than the white flour of "
            "the supermarket, and it gives the crumb a colour like old ivory. Mix 500 g of "
            "flour with 350 g of water, and wait. *Wait* is the whole recipe.",
            "## Le levain",
            "My starter is called Gaston. He is nine years old, lives in the fridge, and "
            "sulks when I forget him. Feed him the night before: 50 g flour, 50 g water. "
            "In the morning he should smell like apples and smell a little bit like "
            "trouble.",
            "## La cuisson",
            "Bake in a cast-iron pot, 250 °C, lid on for twenty minutes and off for twenty "
            "more. Listen when it comes out: the crust sings as it cools. My grandmother "
            "said that was the bread saying thank you.",
            "> Le pain ne se presse pas. On l'attend.",
            "It is never the same twice. The flour changes, the weather changes, I change. "
            "That is the point.",
        ],
    ),
    (
        "elodie",
        "tarte-aux-pralines",
        "Tarte aux pralines roses",
        "The pinkest tart in France, and the only one my nephew eats.",
        ("cuisine", "lyon", "recette"),
        [
            "Pralines roses are almonds coated in bright pink sugar. Outside Lyon they look "
            "like a joke; inside Lyon they are a religion.",
            "## Ingrédients",
            "- 200 g pralines roses\n- 200 ml crème fraîche\n- 1 pâte brisée\n"
            "- patience (see my other article)",
            "## Méthode",
            "Crush the pralines, not too fine. Bring them to a simmer with the cream and "
            "stir until it thickens, about 8 minutes. Pour into the blind-baked crust and "
            "let it set for two hours. Do not put it in the fridge before it has cooled; "
            "it will weep.",
            "Serve in thin slices. It is very sweet. Nobody has ever asked for a thin slice twice.",
        ],
    ),
    (
        "ada",
        "a-year-of-running-a-relay",
        "A year of running a small relay",
        "What broke, what didn't, and what I would do again.",
        ("nostr", "relay", "devlog"),
        [
            "A year ago I put a relay on a second-hand mini PC in my closet. It has served "
            "about nine million events since, to a few hundred regular users. Here is what "
            "I learned.",
            "## Connections are the product",
            "Users never complain about storage. They complain when the connection drops "
            "and their client takes a minute to notice. Send pings, expect pongs, and "
            "close dead sockets quickly. A relay that says `CLOSED` with a reason is "
            "better than one that goes quiet.",
            "## Be boring about ids",
            "Verify every id and every signature. The canonical serialization is a JSON "
            'array with no whitespace and minimal escaping: `\\"`, `\\\\`, `\\n`, `\\t` '
            "and friends. Get one character wrong and you reject good events, or worse, "
            "accept bad ones.",
            "## Replaceable events",
            "Kinds 0, 3 and 10000–19999 keep only the newest per author; 30000–39999 are "
            "keyed by the `d` tag too. Ties go to the lowest id. Write the tests first.",
            "## What I'd do again",
            "An in-memory relay for tests, a real one in production, and the same filter "
            "code in both. Backoff with jitter in every client I write.",
        ],
    ),
)


def _signed(
    author: Author, created_at: int, kind: int, tags: list[list[str]], content: str
) -> dict[str, Any]:
    template = {"created_at": created_at, "kind": kind, "tags": tags, "content": content}
    serial = json.dumps([author.handle, created_at, kind, tags, content], ensure_ascii=False)
    aux = hashlib.sha256(f"{SEED}/aux/{serial}".encode()).digest()
    return sign_event(template, author.secret_key, aux_randomness=aux)


def _note_text(
    rng: random.Random, author: Author, pubkeys: dict[str, str]
) -> tuple[str, list[list[str]]]:
    """Draw a note of 20 to 1500 characters from the author's sentences, with its tags."""
    shape = rng.random()
    if shape < 0.45:
        picked = [rng.choice(author.sentences)]
    elif shape < 0.8:
        picked = rng.sample(author.sentences, rng.randint(2, 4))
    else:  # a long note, in paragraphs of up to three sentences
        picked = rng.sample(author.sentences, rng.randint(6, len(author.sentences)))
    if len(picked) > 5:
        text = "\n\n".join(" ".join(picked[i : i + 3]) for i in range(0, len(picked), 3))
    else:
        text = " ".join(picked)
    tags: list[list[str]] = []
    if rng.random() < 0.12:
        other = rng.choice([a for a in AUTHORS if a is not author])
        text = f"Thinking of {other.profile['display_name']} today. {text}"
        tags.append(["p", pubkeys[other.handle]])
    suffix = ""
    if rng.random() < 0.4:
        chosen = rng.sample(author.hashtags, rng.randint(1, 2))
        suffix = "\n\n" + " ".join(f"#{tag}" for tag in chosen)
        tags += [["t", tag] for tag in chosen]
    budget = 1500 - len(suffix)
    if len(text) > budget:
        text = text[: text.rfind(" ", 0, budget)].rstrip()
    if len(text) < 20:
        text = f"{text} {rng.choice(author.sentences)}"
    return text + suffix, tags


def build() -> list[dict[str, Any]]:
    """Build the corpus, oldest event first."""
    rng = random.Random(SEED)
    keys = {a.handle: a.pubkey for a in AUTHORS}
    by_handle = {a.handle: a for a in AUTHORS}
    plan: list[tuple[int, str, int, list[list[str]], str]] = []

    # Profiles and contact lists in the first hours.
    for i, author in enumerate(AUTHORS):
        profile = json.dumps(author.profile, ensure_ascii=False, separators=(",", ":"))
        plan.append((START + 60 * i, author.handle, 0, [], profile))
        follows = [
            ["p", keys[other.handle], RELAY, other.profile["name"]]
            for other in AUTHORS
            if other is not author and rng.random() < 0.85
        ]
        plan.append((START + 3600 + 97 * i, author.handle, 3, follows, ""))

    # Top-level notes, spread over the four days.
    for author in AUTHORS:
        for _ in range(TOP_LEVEL_NOTES):
            text, tags = _note_text(rng, author, keys)
            when = START + 7200 + rng.randrange(SPAN - 14_400)
            plan.append((when, author.handle, 1, tags, text))
    for handle, text in SPECIAL_NOTES:
        plan.append((START + 7200 + rng.randrange(SPAN - 14_400), handle, 1, [], text))

    # Long-form articles (addressable, one per d tag).
    for handle, d, title, summary, hashtags, paragraphs in LONG_FORM:
        published = START + 10_000 + rng.randrange(SPAN - 20_000)
        tags = [
            ["d", d],
            ["title", title],
            ["summary", summary],
            ["published_at", str(published)],
            *(["t", tag] for tag in hashtags),
        ]
        plan.append((published, handle, 30023, tags, "\n\n".join(paragraphs)))

    events = _sign_plan(plan, by_handle)

    # Replies and reactions, each some minutes after what it answers.
    notes = [e for e in events if e["kind"] == 1]
    extra: list[dict[str, Any]] = []
    for _ in range(REPLIES):
        parent = rng.choice(notes)
        author = rng.choice([a for a in AUTHORS if keys[a.handle] != parent["pubkey"]])
        root = next((t[1] for t in parent["tags"] if t[0] == "e" and t[3:4] == ["root"]), None)
        tags = (
            [["e", root, RELAY, "root"], ["e", parent["id"], RELAY, "reply"]]
            if root
            else [["e", parent["id"], RELAY, "root"]]
        )
        tags.append(["p", parent["pubkey"]])
        when = parent["created_at"] + rng.randint(60, 5400)
        reply = _signed(author, when, 1, tags, rng.choice(author.replies))
        extra.append(reply)
        notes.append(reply)
    for _ in range(REACTIONS):
        target = rng.choice(notes)
        author = rng.choice([a for a in AUTHORS if keys[a.handle] != target["pubkey"]])
        content = rng.choice(["+", "+", "🤙", "❤️", "⚡", "🌱"])
        tags = [["e", target["id"], RELAY], ["p", target["pubkey"]], ["k", "1"]]
        when = target["created_at"] + rng.randint(30, 7200)
        extra.append(_signed(author, when, 7, tags, content))

    return sorted(events + extra, key=lambda e: (e["created_at"], e["id"]))


def _sign_plan(
    plan: list[tuple[int, str, int, list[list[str]], str]], authors: dict[str, Author]
) -> list[dict[str, Any]]:
    return [
        _signed(authors[handle], created_at, kind, tags, content)
        for created_at, handle, kind, tags, content in sorted(plan, key=lambda p: p[0])
    ]


def render(corpus: list[dict[str, Any]]) -> str:
    """One compact JSON object per line, UTF-8 kept raw, fields in NIP-01's order."""
    return "".join(
        json.dumps(event, ensure_ascii=False, separators=(",", ":")) + "\n" for event in corpus
    )


def check(corpus: list[dict[str, Any]]) -> None:
    """Fail loudly if the corpus breaks what the demo and the tests rely on."""
    assert tuple(a.handle for a in AUTHORS) == HANDLES, "rx_honeybee.cli.corpus.HANDLES"
    ids = [e["id"] for e in corpus]
    assert len(set(ids)) == len(ids), "duplicate ids"
    assert all(verify_event(e) for e in corpus), "an event does not verify"
    for e in corpus:
        if e["kind"] == 1:
            assert 20 <= len(e["content"]) <= 1500, (len(e["content"]), e["content"][:40])
        assert START <= e["created_at"] < START + SPAN + 86_400, e["created_at"]
    replaceable = [(e["pubkey"], e["kind"]) for e in corpus if e["kind"] in (0, 3)]
    assert len(set(replaceable)) == len(replaceable), "a replaceable event is superseded"


def main(argv: list[str] | None = None) -> int:
    """Write (or, with ``--check``, compare) the corpus file."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help="the JSONL file")
    parser.add_argument("--check", action="store_true", help="exit 1 if the file differs")
    args = parser.parse_args(argv)
    corpus = build()
    check(corpus)
    text = render(corpus)
    if args.check:
        current = args.out.read_text(encoding="utf-8") if args.out.exists() else ""
        if current != text:
            print(f"{args.out} is out of date: run scripts/make_corpus.py", file=sys.stderr)
            return 1
        print(f"{args.out}: up to date ({len(corpus)} events)")
        return 0
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(text, encoding="utf-8")
    kinds: dict[int, int] = {}
    for event in corpus:
        kinds[event["kind"]] = kinds.get(event["kind"], 0) + 1
    summary = ", ".join(f"kind {k}: {n}" for k, n in sorted(kinds.items()))
    print(f"wrote {len(corpus)} events to {args.out} ({summary})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
