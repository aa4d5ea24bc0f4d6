# -*- coding: utf-8 -*-
# The connection options every fjord.cluster module takes
# (plugins/module_utils/fjord_cli.py turns them into the CLI's flags).

from __future__ import absolute_import, division, print_function

__metaclass__ = type


class ModuleDocFragment(object):
    DOCUMENTATION = r'''
options:
  fjord_cli:
    description:
      - The C(fjord) command line to run, a name looked up on C(PATH) or a path.
    type: str
    default: fjord
  profile:
    description:
      - The CLI profile to use (C(fjord --profile)). Unset, the profile in effect on the
        managed host is used (C(FJORD_PROFILE), else the profile file's current one).
    type: str
  profile_file:
    description:
      - The profile file (C(fjord --config)); default C(~/.config/fjord/fjord.yaml) of the
        user the module runs as.
    type: path
  controllers:
    description:
      - The controllers' API addresses, C(host:port) (C(-X controllers)). Unset, the
        profile's or C(FJORD_CONTROLLERS).
    type: list
    elements: str
  brokers:
    description:
      - The brokers' Kafka addresses, C(host:port) (C(-X brokers)).
    type: list
    elements: str
  user:
    description:
      - The SASL user the calls are made as (basic auth to the controllers). Passed to the CLI
        in the environment (C(FJORD_USER)), never on its command line. Goes with I(password).
    type: str
  password:
    description:
      - The password of I(user), passed as C(FJORD_PASS) in the environment.
    type: str
  sasl_mechanism:
    description:
      - The Kafka SASL mechanism (C(-X sasl.mechanism)).
    type: str
    choices: [SCRAM-SHA-256, SCRAM-SHA-512, PLAIN]
  tls_ca:
    description:
      - PEM CA file the brokers' certificates must chain to (C(-X tls.ca)).
    type: path
  tls_cert:
    description:
      - PEM client certificate for the brokers (C(-X tls.cert)).
    type: path
  tls_key:
    description:
      - PEM client key for the brokers (C(-X tls.key)).
    type: path
  admin_tls_ca:
    description:
      - PEM CA file the controllers' certificates must chain to (C(-X admin.tls.ca)).
    type: path
  admin_tls_cert:
    description:
      - PEM client certificate for the controllers (C(-X admin.tls.cert)).
    type: path
  admin_tls_key:
    description:
      - PEM client key for the controllers (C(-X admin.tls.key)).
    type: path
  command_timeout:
    description:
      - How long one request may take, for example C(30s) (C(-X globals.command_timeout)).
    type: str
requirements:
  - The C(fjord) CLI on the host the module runs on (the C(fjord) package, or the
    C(fjord.cluster.client) role).
attributes:
  check_mode:
    description: Can run in check mode and returns the real changed answer without modifying the cluster.
    support: full
  diff_mode:
    description: Returns the managed object before and after (what would change, in check mode).
    support: full
'''
