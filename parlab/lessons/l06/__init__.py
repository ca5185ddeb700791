"""Lessons 06a · Choosing a backend and 06b · Laws and scaling: its helpers, panels, conclusions and exercise checkers.

Kept empty: process workers import modules of this package by name, so importing it must stay light.
"""
