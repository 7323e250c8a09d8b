"""The conversation engine: pure logic from a normalised inbound message plus case context to replies
and effects. No database, no network, no channel details."""
