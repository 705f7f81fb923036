from tests.conftest import Visitor


def test_visitor_asks_and_gets_an_article(visitor: Visitor) -> None:
    turn = visitor.say("how do i return an item")
    assert turn["reply"]["role"] == "bot"
    assert turn["reply"]["kind"] in ("answer", "clarify", "handoff")
