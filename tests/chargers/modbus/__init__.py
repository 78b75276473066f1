"""Tests of the Modbus TCP adapter and its simulators."""
