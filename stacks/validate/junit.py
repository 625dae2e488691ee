"""JUnit XML for CI systems: one testsuite per group, one testcase per check."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from pathlib import Path

from helixflow.stacks.validate.model import Report, Status


def junit_xml(report: Report) -> str:
    suites = ET.Element(
        "testsuites",
        name="helixflow validate",
        tests=str(len(report.results)),
        failures=str(report.count(Status.failed)),
        skipped=str(report.count(Status.skipped)),
        time=f"{report.seconds:.3f}",
    )
    groups: dict[str, ET.Element] = {}
    for result in report.results:
        suite = groups.get(result.group)
        if suite is None:
            suite = groups[result.group] = ET.SubElement(suites, "testsuite", name=result.group)
        case = ET.SubElement(
            suite,
            "testcase",
            classname=f"helixflow.validate.{result.group}",
            name=result.name,
            time=f"{result.seconds:.3f}",
        )
        properties = ET.SubElement(case, "properties")
        ET.SubElement(properties, "property", name="critical", value=str(result.critical).lower())
        if result.outcome.value:
            ET.SubElement(properties, "property", name="value", value=result.outcome.value)
        if result.status == Status.failed:
            ET.SubElement(
                case, "failure", message=result.outcome.explanation, type="critical" if result.critical else "warning"
            ).text = result.description
        elif result.status == Status.skipped:
            ET.SubElement(case, "skipped", message=result.outcome.explanation)
    for suite in groups.values():
        cases = suite.findall("testcase")
        suite.set("tests", str(len(cases)))
        suite.set("failures", str(sum(1 for c in cases if c.find("failure") is not None)))
        suite.set("skipped", str(sum(1 for c in cases if c.find("skipped") is not None)))
    ET.indent(suites)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(suites, encoding="unicode") + "\n"


def write_junit(report: Report, path: Path) -> None:
    """Raises OSError when the file cannot be written."""
    path.write_text(junit_xml(report))
