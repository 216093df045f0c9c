#!/bin/bash
# swift's kolla_extend_start, sourced by kolla_start: nothing to bootstrap here, the
# command (swift_saio) builds the rings and starts the servers on every start.
:
