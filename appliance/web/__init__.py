"""The phone's way in: HTTPS, pairing, WebRTC (music out, camera and microphone in), events."""
