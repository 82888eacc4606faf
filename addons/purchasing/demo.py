def load_demo(session, app):
    pass
