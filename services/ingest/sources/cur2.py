"""AWS CUR 2.0 (Data Exports) → `UsageRecord`s.

Column reference: AWS Data Exports user guide, "Cost and Usage Report 2.0 table dictionary"
(docs.aws.amazon.com/cur/latest/userguide/table-dictionary-cur2.html). CUR 2.0 keeps legacy CUR's
snake-case line item, bill, pricing, reservation and savings plan columns, so the mapping, the
amortized-cost rule and the id rule are `CurParser`'s. What differs:
- tags live in one `resource_tags` map column (keys `user_<key>` / `aws_<key>`), not one column per tag;
- product attributes outside the static schema live in the `product` map (e.g. `region`), while
  `product_region_code` is a static column;
- AWS Cost Categories live in the `cost_category` map (name -> value); each becomes the tag
  `costcategory:<Name>` (`COST_CATEGORY_TAG_PREFIX`), which allocation rules read;
- map columns are parquet maps (or structs) in parquet files and JSON object strings in CSV files.
"""

from __future__ import annotations

from collections.abc import Mapping

from outlay.events.usage import COST_CATEGORY_TAG_PREFIX
from services.ingest.sources.cells import key_values, text
from services.ingest.sources.columns import map_tag_key
from services.ingest.sources.cur_legacy import CurParser


class Cur2Parser(CurParser):
    format = "cur2"

    def _extra_canonical(self) -> tuple[str, ...]:
        return ("resource_tags", "product", "cost_category")

    def _region(self, row: Mapping[str, object]) -> str | None:
        static = text(self._get(row, "product_region_code"))
        if static is not None:
            return static
        product = key_values(self._get(row, "product"), self._name("product"))
        return text(product.get("region")) or text(self._get(row, "product_region"))

    def _service(self, row: Mapping[str, object]) -> str | None:
        static = text(self._get(row, "product_product_name"))
        if static is not None:
            return static
        product = key_values(self._get(row, "product"), self._name("product"))
        return text(product.get("product_name"))

    def _tags(self, row: Mapping[str, object]) -> dict[str, str]:
        raw = key_values(self._get(row, "resource_tags"), self._name("resource_tags"))
        tags = {map_tag_key(key): value for key, value in raw.items()}
        categories = key_values(self._get(row, "cost_category"), self._name("cost_category"))
        tags.update((COST_CATEGORY_TAG_PREFIX + name, value) for name, value in categories.items())
        return tags
