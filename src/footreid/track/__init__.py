"""Tracking with footreid's models: MOT files, BoxMOT trackers, tracklet linking, scoring."""
