"""Changes the Mailman tests make the way a site admin would, through
`mailman shell -l LIST -r mqa_test_site.FUNCTION ARGS` (Mailman 3.3 has no
CLI for roles). `mailman shell` commits when the function returns."""

from mailman.interfaces.member import MemberRole
from mailman.interfaces.usermanager import IUserManager
from zope.component import getUtility


def no_size_limit(mlist):
    mlist.max_message_size = 0


def add_moderator(mlist, email):
    users = getUtility(IUserManager)
    mlist.subscribe(users.get_address(email) or users.create_address(email), MemberRole.moderator)


def remove_moderator(mlist, email):
    mlist.moderators.get_member(email).unsubscribe()
