"""Every fixed sentence and prompt of articlebot, as named constants.

The refusal sentence is shared by the answerers, the front ends and the tests: an answer
whose text is the refusal has `found = False`.
"""

from __future__ import annotations

REFUSAL = "The articles don't say."
