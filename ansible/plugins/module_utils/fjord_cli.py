# -*- coding: utf-8 -*-
# How the fjord.cluster modules run the `fjord` CLI: the shared connection
# options (doc fragment fjord.cluster.connection), the command line and
# environment they become, JSON parsing, and failing with the CLI's own
# error text. Credentials travel in the environment (FJORD_USER, FJORD_PASS),
# never in argv, where `ps` would show them; passwords for new users go on
# stdin (`--password -`).

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json
import os

# Option name -> the CLI's -X key (`fjord -X help`).
_X_KEYS = (
    ("controllers", "controllers"),
    ("brokers", "brokers"),
    ("sasl_mechanism", "sasl.mechanism"),
    ("tls_ca", "tls.ca"),
    ("tls_cert", "tls.cert"),
    ("tls_key", "tls.key"),
    ("admin_tls_ca", "admin.tls.ca"),
    ("admin_tls_cert", "admin.tls.cert"),
    ("admin_tls_key", "admin.tls.key"),
    ("command_timeout", "globals.command_timeout"),
)


def connection_argument_spec():
    """The options every module takes (documented in doc_fragments/connection.py)."""
    return dict(
        fjord_cli=dict(type="str", default="fjord"),
        profile=dict(type="str"),
        profile_file=dict(type="path"),
        controllers=dict(type="list", elements="str"),
        brokers=dict(type="list", elements="str"),
        user=dict(type="str"),
        password=dict(type="str", no_log=True),
        sasl_mechanism=dict(type="str", choices=["SCRAM-SHA-256", "SCRAM-SHA-512", "PLAIN"]),
        tls_ca=dict(type="path"),
        tls_cert=dict(type="path"),
        tls_key=dict(type="path"),
        admin_tls_ca=dict(type="path"),
        admin_tls_cert=dict(type="path"),
        admin_tls_key=dict(type="path"),
        command_timeout=dict(type="str"),
    )


def build_command(params, args):
    """(argv, env) for `fjord <args> --format json` with the connection options.

    Unset options are left out, so the profile in effect (or FJORD_*
    variables of the environment Ansible runs in) decides them, as for a
    person typing the command.
    """
    argv = [params.get("fjord_cli") or "fjord", "--format", "json"]
    if params.get("profile"):
        argv += ["--profile", params["profile"]]
    if params.get("profile_file"):
        argv += ["--config", params["profile_file"]]
    for option, key in _X_KEYS:
        value = params.get(option)
        if value is None or value == [] or value == "":
            continue
        if isinstance(value, list):
            value = ",".join(value)
        argv += ["-X", "%s=%s" % (key, value)]
    env = {}
    if (params.get("user") is None) != (params.get("password") is None):
        raise ValueError("user and password go together: give both or neither")
    if params.get("user") is not None:
        env["FJORD_USER"] = params["user"]
        env["FJORD_PASS"] = params["password"]
    return argv + list(args), env


class FjordCliError(Exception):
    """The CLI failed: `message` is its stderr (what it said about why)."""

    def __init__(self, message, rc, stdout, argv):
        super(FjordCliError, self).__init__(message)
        self.message = message
        self.rc = rc
        self.stdout = stdout
        self.argv = argv


class FjordCli:
    """Runs the CLI for one module invocation."""

    def __init__(self, module):
        self.module = module
        try:
            build_command(module.params, [])
        except ValueError as e:
            module.fail_json(msg=str(e))
        path = module.params.get("fjord_cli") or "fjord"
        if os.sep not in path:
            found = module.get_bin_path(path)
            if not found:
                module.fail_json(msg="fjord_cli: %s is not on PATH (install the fjord package "
                                     "or the fjord.cluster.client role, or give its path)" % path)
            self.params = dict(module.params, fjord_cli=found)
        else:
            self.params = module.params

    def run(self, args, data=None, allow_rc=(0,)):
        """Runs `fjord ARGS --format json`; returns (rc, parsed stdout or None, stderr).

        An exit code outside allow_rc raises FjordCliError carrying stderr.
        """
        argv, env = build_command(self.params, args)
        # The environment is set for this call only: run_command's
        # environ_update restores the module's environment afterwards.
        rc, out, err = self.module.run_command(argv, data=data, environ_update=env,
                                               binary_data=False)
        if rc not in allow_rc:
            raise FjordCliError((err or out or "").strip() or "exit code %d" % rc, rc, out, argv)
        parsed = None
        if out.strip():
            try:
                parsed = json.loads(out)
            except ValueError:
                raise FjordCliError("could not parse the CLI's JSON output: %s" % out[:500],
                                    rc, out, argv)
        return rc, parsed, err

    def json(self, args, data=None):
        """The parsed output of a command that must succeed."""
        return self.run(args, data=data)[1]

    def fail(self, error, **extra):
        """Fails the module with the CLI's error text."""
        self.module.fail_json(msg=error.message, rc=error.rc, stdout=error.stdout,
                              cmd=" ".join(error.argv), **extra)


def diff_result(module, plan):
    """The `diff` key of a module's result in diff mode (before/after dicts)."""
    if module._diff:
        return {"diff": {"before": plan["before"], "after": plan["after"]}}
    return {}
