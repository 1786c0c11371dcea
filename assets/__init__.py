"""Static files Dash serves at /assets/ (CSS, JavaScript); installed as package data."""
