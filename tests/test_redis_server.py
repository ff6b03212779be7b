"""The embedded Redis: modules present, persistence, reuse, and clear failures."""

import pytest
import redis

from finder.redis_server import EmbeddedRedis, RedisUnavailable, check_modules, connect, json_commands


def test_embedded_server_has_search_and_json(fresh_redis):
    client = connect(fresh_redis.url)
    check_modules(client)  # raises if either module is missing
    client.json().set("doc", "$", {"a": 1})
    assert client.json().get("doc") == {"a": 1}


def test_data_survives_a_restart(tmp_path):
    with EmbeddedRedis(tmp_path) as server:
        connect(server.url).set("kept", "yes")
    assert (tmp_path / "appendonlydir").is_dir()
    with EmbeddedRedis(tmp_path) as server:
        assert connect(server.url).get("kept") == b"yes"


def test_a_second_start_on_the_same_directory_reuses_the_running_server(tmp_path):
    with EmbeddedRedis(tmp_path) as first:
        second = EmbeddedRedis(tmp_path).start()
        assert (second.port, second.pid) == (first.port, first.pid)
        assert not second.owned
        second.stop()  # not its server: must leave it running
        assert connect(first.url).ping()


def test_stop_shuts_the_server_down(tmp_path):
    server = EmbeddedRedis(tmp_path).start()
    url = server.url
    server.stop()
    with pytest.raises(redis.ConnectionError):
        connect(url, timeout=0.5).ping()


def test_a_module_that_cannot_load_gives_a_clear_error(tmp_path, monkeypatch):
    bogus = tmp_path / "bogus.so"
    bogus.write_bytes(b"not a shared object")
    monkeypatch.setattr("finder.redis_server.module_paths", lambda: [bogus])
    with pytest.raises(RedisUnavailable, match="embedded Redis exited") as error:
        EmbeddedRedis(tmp_path / "data").start()
    assert "bogus.so" in str(error.value)  # the log lines say which module failed


def test_a_server_without_the_modules_is_rejected(tmp_path, monkeypatch):
    monkeypatch.setattr("finder.redis_server.module_paths", lambda: [])
    server = EmbeddedRedis(tmp_path)
    with pytest.raises(RedisUnavailable, match="lacks the search module"):
        server.start()
    assert server.pid is not None
    with pytest.raises(redis.ConnectionError):  # the half-started server was not left behind
        connect(server.url, timeout=0.5).ping()


@pytest.mark.parametrize("make_commands, decodes", [(json_commands, True), (redis.Redis.json, False)])
def test_json_replies_decode_even_while_json_commands_are_being_created(make_commands, decodes):
    """A reply parsed by another request thread while JSON commands are being created (the
    parsers are registered in the client's shared table) must still come out as a document.
    redis-py's own `client.json()` fails this: the 500s of the load test."""
    client = redis.Redis()  # never connects: only its table of reply parsers is used
    parsed = []
    register = client.set_response_callback

    def register_and_parse_at_once(command, parser):
        register(command, parser)
        if command == "JSON.GET":
            parsed.append(parser(b'{"id": "1"}'))

    client.set_response_callback = register_and_parse_at_once
    make_commands(client)
    assert (parsed == [{"id": "1"}]) is decodes
