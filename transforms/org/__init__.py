from transforms.org.org import MISSING_DIRECTORATE_ID, ORG_PATH, Org, load_org, parse_org

__all__ = ["MISSING_DIRECTORATE_ID", "ORG_PATH", "Org", "load_org", "parse_org"]
