"""The panel API's QuickBooks look-ups: search customers and items for the modal's link boxes, and
remember which QuickBooks item a Pipedrive product is."""

from __future__ import annotations

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework.response import Response

from invoices import lookups
from invoices.models import ProductLink
from invoices.panel_api import PanelApi
from invoices.serializers import ProductLinkSerializer


class ProductLinkApi(PanelApi):
    @extend_schema(
        request=ProductLinkSerializer,
        summary="Remember which QuickBooks item a Pipedrive product is",
        responses=OpenApiTypes.OBJECT,
    )
    def put(self, request, product_id: int):
        connection = self.require_active()
        data = ProductLinkSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        # The item's name is stored with the link, so a draft shows "Hours", not QBO's id "3" (issue 13);
        # reading it also proves the item exists (610 → 404 in our envelope).
        item = lookups.item_get(connection=connection, item_id=data.validated_data["qbo_item_id"])
        link, _created = ProductLink.objects.update_or_create(
            connection=connection,
            pipedrive_product_id=product_id,
            defaults={
                "company": self.company,
                "qbo_item_id": data.validated_data["qbo_item_id"],
                "item_name": item.name[:500],
            },
        )
        return Response(
            {
                "pipedrive_product_id": link.pipedrive_product_id,
                "qbo_item_id": link.qbo_item_id,
                "qbo_item_name": link.item_name,
            }
        )


class QboSearchApi(PanelApi):
    """Search QBO customers or items by name, for the modal's link boxes."""

    entity = ""
    LIMIT = 20

    @extend_schema(
        parameters=[OpenApiParameter("q", str, description="Part of the name")],
        summary="Search QuickBooks by name",
        responses=OpenApiTypes.OBJECT,
    )
    def get(self, request):
        connection = self.require_active()
        term = request.query_params.get("q") or ""
        results: list[dict[str, str | None]]
        if self.entity == "Customer":
            results = [
                {
                    "id": c.id,
                    "name": c.display_name,
                    "email": c.email,
                    "currency": c.currency or connection.home_currency,
                }
                for c in lookups.customers_search(connection=connection, term=term, limit=self.LIMIT)
            ]
        else:
            results = [
                {
                    "id": i.id,
                    "name": i.name,
                    "type": i.type,
                    # Prefill a line added from the search (QBO Item: UnitPrice, Description).
                    "unit_price": None if i.unit_price is None else str(i.unit_price),
                    "description": i.description,
                }
                for i in lookups.items_search(connection=connection, term=term, limit=self.LIMIT)
            ]
        return Response({"results": results})


class QboCustomerSearchApi(QboSearchApi):
    entity = "Customer"


class QboItemSearchApi(QboSearchApi):
    entity = "Item"
