"""test_identity.py - placeholder until its findings are reproduced (issue 11)."""
import sys
sys.exit("test_identity.py is not written yet")
