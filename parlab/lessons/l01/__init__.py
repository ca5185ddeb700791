"""Lessons 01a · The GIL and 01b · Threads in practice: its helpers, panels, conclusions and exercise checkers.

Kept empty: process workers import modules of this package by name, so importing it must stay light.
"""
