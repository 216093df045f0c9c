"""The precheck state's return, without Salt."""

import glance_precheck


def test_errors_fail_the_state_and_list_every_error():
    ret = glance_precheck.report("x", ["one", "two"], ["careful"])
    assert ret["result"] is False and ret["changes"] == {}
    assert "2 error(s)" in ret["comment"]
    assert "ERROR: one" in ret["comment"] and "ERROR: two" in ret["comment"]
    assert "WARNING: careful" in ret["comment"]


def test_no_errors_pass_with_warnings_shown():
    ret = glance_precheck.report("x", [], ["careful"])
    assert ret["result"] is True and "WARNING: careful" in ret["comment"]
