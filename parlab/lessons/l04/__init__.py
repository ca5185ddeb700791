"""Lesson 04 · Parent and child scripts: its helpers, panels, conclusions and exercise checkers.

Kept empty: process workers import modules of this package by name, so importing it must stay light.
"""
