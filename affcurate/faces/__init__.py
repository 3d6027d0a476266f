"""Faces: detect, track, choose the subject, align and crop."""
