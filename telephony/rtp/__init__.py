"""RTP media: the relay between call legs, G.711 encoding, and ringback/hold tone playback."""
