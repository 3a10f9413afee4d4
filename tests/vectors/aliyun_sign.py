"""Produces the RPC signing vectors checked by `src/aliyun/signature.rs`.

Runs the official SDK's own request classes and signer with the clock and
nonce pinned, so the Rust signer is compared with the SDK byte for byte:

    python3 -m venv /tmp/aliyenv
    /tmp/aliyenv/bin/pip install aliyun-python-sdk-core aliyun-python-sdk-aliyuncvc
    /tmp/aliyenv/bin/python tests/vectors/aliyun_sign.py

(checked with aliyun-python-sdk-core 2.16.1, aliyun-python-sdk-aliyuncvc 1.0.10.2)
"""
import json
from urllib.parse import urlencode

from aliyunsdkcore.utils import parameter_helper
from aliyunsdkaliyuncvc.request.v20191030.CreateUserRequest import CreateUserRequest
from aliyunsdkaliyuncvc.request.v20191030.GetUserRequest import GetUserRequest

ACCESS_KEY_ID = "testid"
ACCESS_KEY_SECRET = "testsecret"
REGION = "cn-hangzhou"

# The signer reads these through the module, so pinning them here pins the request.
parameter_helper.get_iso_8061_date = lambda: "2024-01-02T03:04:05Z"


def show(name, request, nonce):
    parameter_helper.get_uuid = lambda: nonce
    # What AcsClient.do_action_with_exception sets before signing.
    request.set_accept_format("JSON")
    url = request.get_url(REGION, ACCESS_KEY_ID, ACCESS_KEY_SECRET)
    print("==", name)
    print("string_to_sign:", request.string_to_sign)
    print("url:", url)
    print("body:", urlencode(request.get_body_params()))


users = [
    {"userId": "u-1", "userName": "张三", "groupId": "88", "groupName": "阿里巴巴",
     "userEmail": "zhang.san+cvc@example.com"},
    {"userId": "u 2*~", "userName": "Li Si", "groupId": "88", "groupName": "阿里巴巴"},
]
create = CreateUserRequest()
# Compact, non-ASCII kept: the same text serde_json writes for these users.
create.set_UserInfo(json.dumps(users, ensure_ascii=False, separators=(",", ":")))
create.set_Count(len(users))
show("CreateUser", create, "3f2504e0-4f89-11d3-9a0c-0305e82c3301")

get = GetUserRequest()
get.set_UserId("u-1")
show("GetUser", get, "6c1f3610-0000-4000-8000-000000000001")
