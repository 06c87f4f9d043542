import { Body, Controller, Delete, Get, HttpCode, Param, ParseUUIDPipe, Post, Put, Query } from '@nestjs/common';
import {
  ApiBearerAuth,
  ApiConflictResponse,
  ApiCreatedResponse,
  ApiNoContentResponse,
  ApiNotFoundResponse,
  ApiOkResponse,
  ApiTags,
  ApiUnprocessableEntityResponse,
} from '@nestjs/swagger';

import { AccountsService } from './accounts.service.js';
import { ListAccountsQueryDto, VerifyQueryDto } from './dto/account-query.dto.js';
import { AccountPageDto, AccountResponseDto } from './dto/account-response.dto.js';
import { CreateAccountDto } from './dto/create-account.dto.js';
import { UpdateAccountDto } from './dto/update-account.dto.js';

@ApiTags('accounts')
@ApiBearerAuth()
@Controller('accounts')
export class AccountsController {
  constructor(private readonly accounts: AccountsService) {}

  @Get()
  @ApiOkResponse({ type: AccountPageDto })
  async list(@Query() query: ListAccountsQueryDto): Promise<AccountPageDto> {
    const page = await this.accounts.list(query.limit, query.cursor);
    return { items: page.items.map((account) => AccountResponseDto.from(account)), nextCursor: page.nextCursor };
  }

  @Post()
  @ApiCreatedResponse({ type: AccountResponseDto })
  @ApiUnprocessableEntityResponse({
    description:
      'The IMAP or SMTP server refused the login (the message is its reason) or could not be reached; `code: "mail_host_not_allowed"` when the outbound policy refuses the server, before any connection',
  })
  @ApiConflictResponse({ description: 'An account with this address exists for the tenant' })
  async create(@Body() body: CreateAccountDto, @Query() query: VerifyQueryDto): Promise<AccountResponseDto> {
    return AccountResponseDto.from(await this.accounts.create(body, query.verify));
  }

  @Get(':id')
  @ApiOkResponse({ type: AccountResponseDto })
  @ApiNotFoundResponse()
  async get(@Param('id', ParseUUIDPipe) id: string): Promise<AccountResponseDto> {
    return AccountResponseDto.from(await this.accounts.get(id));
  }

  @Put(':id')
  @ApiOkResponse({ type: AccountResponseDto })
  @ApiNotFoundResponse()
  @ApiUnprocessableEntityResponse({
    description: 'As for create: login refused, server unreachable, or `code: "mail_host_not_allowed"`',
  })
  async update(
    @Param('id', ParseUUIDPipe) id: string,
    @Body() body: UpdateAccountDto,
    @Query() query: VerifyQueryDto,
  ): Promise<AccountResponseDto> {
    return AccountResponseDto.from(await this.accounts.update(id, body, query.verify));
  }

  @Delete(':id')
  @HttpCode(204)
  @ApiNoContentResponse({ description: 'Deleted with its folders, messages, drafts and pending jobs' })
  @ApiNotFoundResponse()
  async delete(@Param('id', ParseUUIDPipe) id: string): Promise<void> {
    await this.accounts.delete(id);
  }
}
