# Test instrumentation inside the real HyperKitty: it keeps no raw bytes, so
# this middleware keeps a copy of each message it answered 200 to, named
# after the list and the Message-ID as HyperKitty stores it
# (CAPTURE/<sha1 of "list\nid">). The first copy wins, as in HyperKitty,
# which does not store a known Message-ID again.

import hashlib
import os
from email import message_from_bytes
from email.message import EmailMessage
from email.policy import default

from hyperkitty.lib.utils import get_message_id

CAPTURE = os.path.join(os.environ["MQA_HK_DIR"], "captured")


def capture_archived(get_response):
    def middleware(request):
        response = get_response(request)
        if request.path.endswith("/api/mailman/archive") and response.status_code == 200:
            upload = request.FILES["message"]
            upload.seek(0)
            data = upload.read()
            message = message_from_bytes(data, _class=EmailMessage, policy=default)
            name = hashlib.sha1(f"{request.POST['mlist']}\n{get_message_id(message)}".encode()).hexdigest()
            os.makedirs(CAPTURE, exist_ok=True)
            try:
                with open(os.path.join(CAPTURE, name), "xb") as f:
                    f.write(data)
            except FileExistsError:
                pass
        return response
    return middleware
